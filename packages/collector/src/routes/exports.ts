/**
 * Exports over HTTP: GET /v1/exports (the manifests in --export-dir, newest first),
 * GET /v1/exports/:name (a file that a manifest lists, or a manifest; nothing else in the
 * directory, and no name that is not one plain file name), POST /v1/exports (run one now: the
 * last full period, or the {from, to} given; 409 while another run is in flight).
 * Without --export-dir every route answers 404 CW_ERR_EXPORTS_NOT_CONFIGURED.
 *
 * Reading (list, download) needs a read token when --read-tokens is set. Running an export needs
 * an admin token (--admin-tokens); without that option only a loopback client may run one, so a
 * read token can never write into the export directory. A download never follows a symlink.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { SAFE_FILE_NAME } from '../exports/atomic-write.js';
import { ExportBusyError, type ExportManager } from '../exports/manager.js';
import type { Manifest } from '../exports/manifest.js';
import { ErrorResponse } from '../schemas.js';
import { authenticate, isLoopback } from '../auth.js';
import { NotARegularFileError, openRegularFile } from '../exports/retention.js';
import { requireReadToken } from './read-auth.js';
import { FieldError } from '../instant.js';
import { exportRequestFromBody, MAX_EXPORT_PERIOD_MS } from '../exports/period.js';

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);

const ExportFileSchema = Type.Object({ name: Type.String(), bytes: Type.Integer(), sha256: Type.String(), url: Type.String() });
const ExportSchema = Type.Object({
  name: Type.String(),
  manifest: Type.String({ description: 'file name of the manifest (download it like the files)' }),
  manifestUrl: Type.String(),
  period: Type.Object({ fromMs: Type.Number(), toMs: Type.Number(), from: Type.String(), to: Type.String() }),
  generatedAtMs: Type.Number(),
  kind: Nullable(Type.Union([Type.Literal('scheduled'), Type.Literal('manual')], { description: 'scheduled: immutable, in --export-dir; manual: POST /v1/exports, in --export-dir/manual' })),
  files: Type.Array(ExportFileSchema),
  signature: Nullable(Type.Object({ algorithm: Type.String(), keyId: Type.String() })),
});
const ExportListSchema = Type.Object({
  everyMs: Type.Number({ description: 'schedule period (--export-every)' }),
  nextRunAtMs: Nullable(Type.Number()),
  running: Type.Boolean(),
  signed: Type.Boolean({ description: 'exports are signed with --export-key' }),
  exports: Type.Array(ExportSchema),
  errors: Type.Array(Type.Object({ name: Type.String(), message: Type.String() }), { description: 'manifests that could not be read' }),
});
const InstantField = (what: string) =>
  Type.Union([Type.String({ format: 'date-time', description: 'ISO 8601 / RFC 3339 with its offset (2026-11-30T00:00:00Z), or a full date (UTC midnight)' }), Type.Number({ description: 'ms since the epoch' })], { description: what });
/**
 * Documents the body (OpenAPI); exportRequestFromBody (exports/period.ts) checks it, so that every
 * refusal names its field (ajv on a union answers "body: must be null" for any wrong object).
 */
export const RunBody = Type.Union([
  Type.Null(),
  Type.Object(
    {
      from: Type.Optional(InstantField('start of the period (inclusive)')),
      to: Type.Optional(InstantField('end of the period (exclusive); not in the future')),
      fromMs: Type.Optional(Type.Number({ description: 'older name of from: ms since the epoch (not with from)' })),
      toMs: Type.Optional(Type.Number({ description: 'older name of to: ms since the epoch (not with to)' })),
      detail: Type.Optional(Type.Boolean({ description: 'also the full-resolution CSV of every sample of the period (<name>-detail.csv, in the manifest); default false' })),
    },
    {
      additionalProperties: false,
      description: `both bounds or neither (no body, null or {}: the last full schedule period); from < to, to not after now, at most ${MAX_EXPORT_PERIOD_MS / 86_400_000} days. Refusals: 400 CW_ERR_VALIDATION, the message starts with the field (\`to: … is in the future\`)`,
    },
  ),
]);
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

function describe(m: Manifest, manifestName: string) {
  const url = (n: string) => `/v1/exports/${encodeURIComponent(n)}`;
  return {
    name: m.name,
    manifest: manifestName,
    manifestUrl: url(manifestName),
    period: m.period,
    generatedAtMs: m.generatedAtMs,
    kind: m.kind ?? null,
    files: m.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256, url: url(f.name) })),
    signature: m.signature ? { algorithm: m.signature.algorithm, keyId: m.signature.keyId } : null,
  };
}

export async function exportRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  // Two contexts: the read hook must not see the admin route (an admin token is not a read token).
  await app.register(exportReadRoutes, opts);
  await app.register(exportRunRoutes, opts);
}

async function exportReadRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
  const manager = (): ExportManager => {
    if (!ctx.exports) throw new HttpError('EXPORTS_NOT_CONFIGURED');
    return ctx.exports;
  };

  app.get(
    '/v1/exports',
    { schema: { summary: 'Exports in the export directory, newest first', tags: ['exports'], response: { 200: ExportListSchema, ...errors } } },
    async () => {
      const m = manager();
      const { exports, errors: bad } = await m.list();
      return {
        everyMs: m.everyMs,
        nextRunAtMs: m.nextRunAtMs,
        running: m.busy,
        signed: m.signed,
        exports: exports.map((e) => describe(e.manifest, e.manifestName)),
        errors: bad,
      };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/v1/exports/:name',
    {
      schema: {
        summary: 'Download one file of an export (CSV, JSON, HTML) or its manifest',
        tags: ['exports'],
        params: NameParams,
        response: { 200: Type.String({ description: 'the file' }), ...errors },
      },
    },
    async (request, reply) => {
      const m = manager();
      const name = request.params.name;
      // One plain file name: no '/', no '..', no leading dot; whatever the URL encoding was.
      if (!SAFE_FILE_NAME.test(name)) throw new HttpError('BAD_PARAM', `name: '${name.slice(0, 80)}' is not the name of an export file`);
      const path = await m.find(name);
      if (!path) throw new HttpError('EXPORT_NOT_FOUND', `no export lists a regular file named '${name}'`);
      let fh;
      try {
        fh = await openRegularFile(path);
      } catch (err) {
        if (err instanceof NotARegularFileError) throw new HttpError('EXPORT_NOT_FOUND', `${name} is not a regular file: not served`);
        throw new HttpError('EXPORT_NOT_FOUND', `${name} is listed by a manifest but is not in the export directory (removed by retention?)`);
      }
      const size = (await fh.stat()).size;
      const ext = /\.([a-z]+)$/.exec(name)?.[1] ?? '';
      return reply
        .type(CONTENT_TYPES[ext] ?? 'application/octet-stream')
        .header('content-length', size)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('x-content-type-options', 'nosniff')
        // The HTML is self-contained; even opened from this origin nothing in it may load or run.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
        .header('cache-control', 'no-cache')
        .send(fh.createReadStream());
    },
  );
}

async function exportRunRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
  const manager = (): ExportManager => {
    if (!ctx.exports) throw new HttpError('EXPORTS_NOT_CONFIGURED');
    return ctx.exports;
  };
  app.addHook('onRequest', (request, _reply, done) => {
    if (ctx.adminTokens !== null) authenticate(ctx.adminTokens, request.headers.authorization);
    else if (!isLoopback(request.socket.remoteAddress)) throw new HttpError('ADMIN_REQUIRED');
    done();
  });

  app.post<{ Body: unknown }>(
    '/v1/exports',
    {
      schema: {
        summary: 'Run one export now: the last full period, or the {from, to} given; answers with its manifest when it is written',
        tags: ['exports'],
        body: RunBody,
        response: { 200: ExportSchema, ...errors },
      },
      // The schema above is for the document; the body is checked by exportRequestFromBody.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const m = manager();
      let asked;
      try {
        asked = exportRequestFromBody(request.body, ctx.clock.now());
      } catch (err) {
        if (err instanceof FieldError) throw new HttpError('VALIDATION', err.message);
        throw err;
      }
      const period = asked.period ?? m.defaultPeriod();
      try {
        const r = await m.runNow(period, { detail: asked.detail });
        return describe(r.manifest, r.manifestPath.slice(r.manifestPath.lastIndexOf('/') + 1));
      } catch (err) {
        if (err instanceof ExportBusyError) throw new HttpError('EXPORT_IN_PROGRESS');
        request.log.error({ err }, 'export failed');
        const code = (err as NodeJS.ErrnoException).code;
        throw new HttpError('EXPORT_FAILED', `the export could not be written${code ? ` (${code})` : ''}`);
      }
    },
  );
}
