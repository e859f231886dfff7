/**
 * The live fleet page: GET / and GET /agents/:id serve the same small browser app (built by
 * scripts/build-web.mjs into dist/web from packages/collector/web), and GET /assets/<file> its
 * script and stylesheet. The page carries no fleet data: it reads the JSON API from the browser
 * (with the read token when --read-tokens is on), so it needs no token itself.
 *
 * Every response of the page has a strict Content-Security-Policy (CSP Level 3): nothing but this
 * origin's own script, style and API, no inline script or style, no framing, no form posts. The
 * assets have content-hashed names, so they are cached for a year; the HTML is revalidated.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** dist/routes/page.js → dist/web (the build output of the browser app). */
const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function load(dir: string): Map<string, Asset> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return files;
}

function security(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

export async function pageRoutes(app: FastifyInstance, _opts: RouteOptions & { webDir?: string }): Promise<void> {
  let files: Map<string, Asset> | null | undefined;
  const assets = () => (files ??= load(_opts.webDir ?? WEB_DIR));
  const send = (reply: FastifyReply, a: Asset, ifNoneMatch: string | undefined, cache: string) => {
    security(reply).header('etag', a.etag).header('cache-control', cache);
    if (ifNoneMatch === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  };
  const index = (request: { headers: { 'if-none-match'?: string } }, reply: FastifyReply) => {
    const a = assets()?.get('index.html');
    if (!a) throw new HttpError('INTERNAL', 'the fleet page is not built: run npm run build');
    return send(reply, a, request.headers['if-none-match'], 'no-cache');
  };
  const hide = { hide: true } as const;
  app.get('/', { schema: { summary: 'The live fleet page (HTML)', tags: ['page'] } }, (request, reply) => index(request, reply));
  app.get<{ Params: { id: string } }>('/agents/:id', { schema: { summary: 'The fleet page, opened on one agent (HTML)', tags: ['page'] } }, (request, reply) => index(request, reply));
  app.get<{ Params: { file: string } }>('/assets/:file', { schema: hide }, (request, reply) => {
    const name = request.params.file;
    const a = name !== 'index.html' ? assets()?.get(name) : undefined;
    if (!a) throw new HttpError('ROUTE_NOT_FOUND', `no asset ${name}`);
    // Hashed names (app-<hash>.js): the content behind a name never changes.
    return send(reply, a, request.headers['if-none-match'], 'public, max-age=31536000, immutable');
  });
}
