/**
 * The app factory: builds the fastify app with every route, hook and part wired, and never
 * listens (the CLI does; tests use inject() or listen on 127.0.0.1:0). Options are validated and
 * frozen here; the store, the host clock and the wall clock are injected so tests control them.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import { Counter } from 'prom-client';
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { DEFAULT_POLICY, type CommandRunner, type PolicyDocument } from '@clockwatch/shared';
import type { TokenEntry } from './auth.js';
import { Compliance } from './compliance.js';
import type { AppContext } from './context.js';
import { codeOf, errorBody, ERROR_CODES, HttpError, toApiError } from './errors.js';
import { registerEtags } from './etag.js';
import { ExportManager } from './exports/manager.js';
import { ExportService, type ExportFormat } from './exports/service.js';
import { GroupCommitter } from './group-commit.js';
import { staticHostClock, type HostClock } from './host-clock.js';
import { Ingestor } from './ingest.js';
import { LibvirtAudit } from './libvirt/audit.js';
import type { HostAuditPart } from './libvirt/host-audit.js';
import { auditedGuests } from './libvirt/agentless.js';
import { CollectorMetrics } from './metrics.js';
import { renderHostAuditMetrics } from './metrics-host-audit.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { RefusalLog, serializeRequest, type RefusalLogOptions } from './request-log.js';
import { RetentionScheduler, type RetentionOptions } from './retention.js';
import { agentRoutes } from './routes/agents.js';
import { complianceRoutes } from './routes/compliance.js';
import { docsRoutes } from './routes/docs.js';
import { exportRoutes } from './routes/exports.js';
import { pageRoutes } from './routes/page.js';
import { libvirtRoutes } from './routes/libvirt.js';
import { healthRoutes } from './routes/health.js';
import { collectorRoutes } from './routes/collectors.js';
import { metricsRoutes } from './routes/metrics.js';
import { reportRoutes } from './routes/reports.js';
import { timeRoutes } from './routes/time.js';
import { DatabaseGoneError } from './store/file-identity.js';
import { MAX_AGENTS_PAGE } from './schemas.js';
import type { RejudgeResult, Store } from './store/types.js';
import { COLLECTOR_VERSION } from './version.js';
import { AnchoredWallClock, type WallClock } from '@clockwatch/shared/node';

export interface AppOptions {
  /** /metrics per-agent series: the agents this collector measured ('own', default) or the whole fleet. */
  metricsScope?: 'own' | 'fleet';
  store: Store;
  policy?: PolicyDocument;
  /** The host's own NTP state; default: unknown. */
  hostClock?: HostClock;
  /** The sub-ms wall clock for t2/t3 and receive times; default: anchored to the OS clock. */
  clock?: WallClock;
  /** Agent tokens (--tokens); null or absent: reports only from loopback addresses. */
  agentTokens?: readonly TokenEntry[] | null;
  /** Read tokens (--read-tokens); null or absent: reads are open. */
  readTokens?: readonly TokenEntry[] | null;
  /** Admin tokens (--admin-tokens): who may run an export; null or absent: loopback clients only. */
  adminTokens?: readonly TokenEntry[] | null;
  /** Largest POST /v1/reports body, bytes (default 4 MiB). */
  bodyLimit?: number;
  /** Most reports in one array (default 1000). */
  maxBatch?: number;
  /**
   * Time a client has to send a whole request, headers and body (default 30 s; --request-timeout).
   * A slow or stalled client (slowloris) is answered 408 and disconnected instead of holding its
   * connection forever (fastify's default is no limit).
   */
  requestTimeoutMs?: number;
  /** Per-agent request rate limit (default 60/min, burst 60); perMinute 0 disables it. */
  rateLimit?: RateLimitOptions;
  /** Automatic pruning; absent: none (the CLI always sets it). */
  retention?: (RetentionOptions & { everyMs?: number; firstAfterMs?: number }) | null;
  /** Refused-request log bound (default 20 lines per 10 s; the rest counted in one line). */
  refusalLog?: Pick<RefusalLogOptions, 'perWindow' | 'windowMs'>;
  /** How often the database file's identity is checked, ms (default 1000; also on every write). */
  storeCheckMs?: number;
  /** How old the check before a report request may be, ms (default 50; the write itself always looks afresh). */
  storeRecheckMs?: number;
  /** fastify/pino logger options; default: no logging. */
  logger?: FastifyServerOptions['logger'];
  loggerInstance?: FastifyServerOptions['loggerInstance'];
  /** The dedicated time listener's port, named in every /v1/time answer (serve sets it once it listens). */
  timePort?: () => number | null;
  /** TLS for the listener (the CLI's --tls-cert/--tls-key). */
  https?: { cert: string | Buffer; key: string | Buffer } | null;
  /** process_* / nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
  version?: string;
  /** This collector's name (--name), shown with the agents it measured; default: the host name. */
  name?: string;
  /** --export-dir and friends: scheduled and on-demand exports; absent: /v1/exports answers "not configured". */
  exports?: {
    dir: string;
    /** Schedule period (--export-every), ms; default 24 h. */
    everyMs?: number;
    /** Run the schedule (default true); false: on-demand only. */
    schedule?: boolean;
    /** Scheduled exports kept (--export-keep); null: all. */
    keep?: number | null;
    /** Manual exports kept in <dir>/manual (--export-manual-keep; default 10). */
    manualKeep?: number | null;
    /** Ed25519 key the manifests are signed with (--export-key). */
    signingKey?: KeyObject | null;
    formats?: readonly ExportFormat[];
    /** Scheduler knobs (tests). */
    settleMs?: number;
    retryMs?: number;
  } | null;
  /** --libvirt-xml-dir / --libvirt-uri: the libvirt clock audit; absent: none. */
  libvirt?: {
    xmlDir?: string | null;
    uri?: string | null;
    /** How often the domains are read again, ms (default 5 min). */
    refreshMs?: number;
    /** Runs virsh (tests replay recorded outputs). */
    runner?: CommandRunner;
    /** --host-audit: the parts read of every running domain (needs uri). */
    hostAudit?: readonly HostAuditPart[] | null;
  } | null;
}

/**
 * pino options the CLI uses: JSON lines; no secret-bearing header and no /v1/reports query string
 * is ever written (request-log.ts). The redact paths are a second line for objects logged whole.
 */
export function loggerOptions(level: string): NonNullable<Exclude<FastifyServerOptions['logger'], boolean>> {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'request.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'req.headers["x-api-key"]'],
      censor: '[redacted]',
    },
    serializers: { req: serializeRequest },
  };
}

/** A charset parameter other than UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8). */
function foreignCharset(contentType: string | undefined): string | null {
  if (!contentType) return null;
  const m = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType);
  if (!m) return null;
  const cs = (m[1] ?? '').toLowerCase();
  return cs === 'utf-8' || cs === 'utf8' ? null : cs || '(empty)';
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const store = options.store;
  const clock = options.clock ?? new AnchoredWallClock();
  const hostClock = options.hostClock ?? staticHostClock(null);
  const compliance = new Compliance(options.policy ?? DEFAULT_POLICY, null, clock.resolutionMs);
  const bodyLimit = options.bodyLimit ?? 4 * 1024 * 1024;
  const maxBatch = options.maxBatch ?? 1000;
  if (!(bodyLimit > 0)) throw new RangeError('bodyLimit must be positive');
  if (!(maxBatch > 0)) throw new RangeError('maxBatch must be positive');
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  if (!(requestTimeoutMs > 0)) throw new RangeError('requestTimeoutMs must be positive');
  // Node checks the timeouts of open connections every connectionsCheckingInterval (30 s by
  // default): a tenth of the timeout keeps the cut-off within 10 % of it. Headers get at most the
  // whole timeout too (Node's headersTimeout must not exceed requestTimeout).
  const serverTimeouts = {
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.round(requestTimeoutMs / 10))),
    // Node answers an HTTP/1.1 request without Host (RFC 9112 §3.2) with a bare 400 and no body;
    // the onRequest hook below answers it with the JSON error body every other error has.
    requireHostHeader: false,
  };
  // Every refusal is counted in metrics; its log line is rate-bounded (set once `app` exists).
  let refused: (code: string, statusCode: number, fields: Record<string, unknown>) => void = () => undefined;

  const app = Fastify({
    logger: options.loggerInstance ? undefined : (options.logger ?? false),
    loggerInstance: options.loggerInstance,
    // Per-request log lines would cost more than the ingest itself; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    https: options.https ? { ...options.https, ...serverTimeouts } : null,
    // Plain HTTP: the same server options (fastify's `http`, which its https typing does not name).
    ...(options.https ? {} : ({ http: serverTimeouts } as object)),
    requestTimeout: requestTimeoutMs,
    // Requests that arrive while closing are still answered (reads from the open store); a report
    // that cannot be committed any more gets 503 CW_ERR_SHUTTING_DOWN from the ingest path.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 65_000,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
    frameworkErrors: (err, req, reply) => {
      const e = toApiError(err);
      refused(e.code, e.statusCode, { req: (req as FastifyRequest).raw, message: e.message });
      void (reply as unknown as FastifyReply).code(e.statusCode).send(errorBody(e.statusCode, e.code, e.message));
    },
    clientErrorHandler: (err, socket) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      // Node raises ERR_HTTP_REQUEST_TIMEOUT when requestTimeout/headersTimeout cut a slow client off.
      const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const [status, text, name] = timeout ? [408, 'Request Timeout', 'REQUEST_TIMEOUT' as const] : [400, 'Bad Request', 'BAD_REQUEST' as const];
      refused(codeOf(name), status, { message: (err as Error).message, remoteAddress: socket.remoteAddress });
      const body = JSON.stringify(errorBody(status, codeOf(name), timeout ? `the request did not arrive within ${requestTimeoutMs / 1000} s` : 'malformed HTTP request'));
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
  }) as unknown as FastifyInstance;

  const metrics = new CollectorMetrics({
    store,
    hostClock,
    nowMs: () => clock.now(),
    defaultMetrics: options.defaultMetrics ?? true,
    scope: { kind: options.metricsScope ?? 'own', collector: options.name ?? hostname() },
    clockSteps: clock instanceof AnchoredWallClock ? () => clock.steps : undefined,
  });
  const refusedTotal = new Counter({
    name: 'clockwatch_http_refused_total',
    help: 'Requests answered with a 4xx, by error code (every one, whether its log line was written or not)',
    labelNames: ['code'],
    registers: [metrics.registry],
  });
  const refusalLog = new RefusalLog({
    ...options.refusalLog,
    write: (fields) => app.log.info(fields, 'request refused'),
    writeSuppressed: (n, windowMs) => app.log.warn({ suppressed: n, windowS: windowMs / 1000 }, `${n} more refused request(s) in ${windowMs / 1000} s not logged (counted in clockwatch_http_refused_total)`),
  });
  refused = (code, statusCode, fields) => {
    refusedTotal.inc({ code });
    refusalLog.refused({ code, statusCode, ...fields });
  };
  const committer = new GroupCommitter(store, (f) => {
    metrics.commitBatch.observe(f.records);
    metrics.commitDuration.observe(f.durationMs / 1000);
    if (!f.error) return;
    // A gone database file has its one error line from checkStore (below), not one per failed batch.
    if (f.error instanceof DatabaseGoneError) checkStore();
    else app.log.error({ err: f.error, reports: f.records }, 'group commit failed');
  });
  const ingestor = new Ingestor({
    committer,
    compliance,
    hostClock,
    store,
    hostResolutionMs: () => clock.resolutionMs,
    maxBatch,
    onOutcome: (outcome, code) => {
      if (outcome === 'stored' || outcome === 'duplicate') metrics.reports.inc({ result: outcome });
      else metrics.rejected.inc({ code: code ?? 'unknown' });
    },
  });
  const libvirt =
    options.libvirt && (options.libvirt.xmlDir || options.libvirt.uri)
      ? new LibvirtAudit({
          ...options.libvirt,
          nowMs: () => clock.now(),
          onRefresh: (r) =>
            app.log[r.errors.length > 0 ? 'warn' : 'info'](
              { domains: r.domains, errors: r.errors.map((e) => e.message), durationMs: Math.round(r.durationMs) },
              `libvirt: read ${r.domains} domain(s)${r.errors.length > 0 ? `, ${r.errors.length} problem(s)` : ''}`,
            ),
          onError: (err) => app.log.error({ err }, 'libvirt: reading the domains failed'),
        })
      : null;
  compliance.setDomains(libvirt);
  // Guests the host audit read on /metrics (joined to every agent of the store, not only this collector's).
  if (libvirt?.hostAudit) metrics.hostAudit = (rows) => renderHostAuditMetrics(auditedGuests(libvirt, compliance, rows, clock.now()));
  const exportService = new ExportService({ store, compliance, libvirt, hostResolutionMs: clock.resolutionMs, offThread: true });
  const exportsOpt = options.exports ?? null;
  const exports = exportsOpt
    ? new ExportManager({
        service: exportService,
        dir: exportsOpt.dir,
        everyMs: exportsOpt.everyMs ?? 86_400_000,
        schedule: exportsOpt.schedule,
        keep: exportsOpt.keep ?? null,
        manualKeep: exportsOpt.manualKeep === undefined ? 10 : exportsOpt.manualKeep,
        signingKey: exportsOpt.signingKey ?? null,
        formats: exportsOpt.formats,
        settleMs: exportsOpt.settleMs,
        retryMs: exportsOpt.retryMs,
        nowMs: () => clock.now(),
        onWritten: (r, info, ms) =>
          app.log.info(
            { export: r.manifest.name, reason: info.reason, files: r.manifest.files.map((f) => f.name), signed: !!r.manifest.signature, removed: r.removed, durationMs: Math.round(ms) },
            `export written: ${r.manifest.name}`,
          ),
        onError: (err, period) => app.log.error({ err, period }, 'export failed; it is retried'),
        onSkipped: (periods) => app.log.warn({ periods }, `exports: ${periods.length} missed period(s) older than the catch-up limit were not exported`),
        onElsewhere: (period) => app.log.info({ period }, 'export skipped: another collector sharing the store has written (or is writing) this period'),
      })
    : null;
  // The database file deleted or replaced under the open connection (store/file-identity.ts):
  // checked every second, before each report request (an answer at most storeRecheckMs old: a
  // stat per request was ~5 µs of every report) and afresh on every write and by /healthz; once
  // gone, reports get 503 (agents keep their spool), /healthz fails, and one error line says why:
  // this is its only logger (a write that finds the file gone comes here too, see the committer).
  let dbGoneLogged = false;
  const recheckMs = options.storeRecheckMs ?? 50;
  const checkStore = (maxAgeMs = 0) => {
    const h = store.health(maxAgeMs);
    if (!h.ok && !dbGoneLogged) {
      dbGoneLogged = true;
      app.log.error({ code: codeOf('DB_GONE') }, h.message);
    }
    return h;
  };
  const storeWatch = setInterval(() => checkStore(), options.storeCheckMs ?? 1000);
  storeWatch.unref();
  const ctx: AppContext = {
    store,
    compliance,
    hostClock,
    clock,
    ingestor,
    metrics,
    rateLimiter: new RateLimiter(options.rateLimit ?? { perMinute: 60 }),
    agentTokens: options.agentTokens ?? null,
    readTokens: options.readTokens ?? null,
    adminTokens: options.adminTokens ?? null,
    storeHealth: () => checkStore(),
    version: options.version ?? COLLECTOR_VERSION,
    name: options.name ?? hostname(),
    startedAtMs: clock.now(),
    exports,
    libvirt,
  };

  // Every body this API takes is JSON: anything else is 415, not a string to validate.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, request, reply) => {
    const e = toApiError(err);
    if (e.internal) request.log.error({ err, req: request.raw }, 'request failed');
    else if (e.statusCode < 500) refused(e.code, e.statusCode, { req: request.raw, message: e.message });
    else request.log.warn({ code: e.code, statusCode: e.statusCode, req: request.raw, message: e.message }, 'request not served');
    if (request.routeOptions.url === '/v1/reports' && !e.counted) metrics.rejected.inc({ code: e.code });
    void reply.code(e.statusCode).headers(e.headers).send(errorBody(e.statusCode, e.code, e.message));
  });
  app.setNotFoundHandler((request, reply) => {
    refused(codeOf('ROUTE_NOT_FOUND'), 404, { req: request.raw });
    void reply.code(404).send(errorBody(404, codeOf('ROUTE_NOT_FOUND'), `no route ${request.method} ${request.url.split('?')[0]}`));
  });


  app.addHook('onRequest', (request, _reply, done) => {
    // The matched route (routing runs before onRequest): no split of the URL on every request.
    if (request.method === 'POST' && request.routeOptions.url === '/v1/reports') {
      const h = checkStore(recheckMs);
      if (!h.ok) {
        done(new HttpError('DB_GONE', h.message, { 'retry-after': '60' }));
        return;
      }
    }
    if (request.raw.httpVersion === '1.1' && !request.headers.host) {
      done(new HttpError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)'));
      return;
    }
    const cs = foreignCharset(request.headers['content-type']);
    if (cs !== null) {
      done(new HttpError('CHARSET', `charset=${cs.slice(0, 40)} is not accepted: send the body as UTF-8 (RFC 8259 §8.1)`));
      return;
    }
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'clockwatch collector',
        version: ctx.version,
        description:
          'Time service, report ingest and fleet queries. Times are ms since the Unix epoch; offsetMs = guest clock − host clock. ' +
          `Errors are {statusCode, code, error, message}; codes: ${ERROR_CODES.join(', ')}.`,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  registerEtags(app);
  await app.register(timeRoutes, { ctx, timePort: options.timePort });
  await app.register(reportRoutes, { ctx, bodyLimit });
  await app.register(agentRoutes, { ctx });
  await app.register(complianceRoutes, { ctx });
  await app.register(metricsRoutes, { ctx });
  await app.register(healthRoutes, { ctx });
  await app.register(collectorRoutes, { ctx });
  await app.register(exportRoutes, { ctx });
  await app.register(libvirtRoutes, { ctx });
  await app.register(docsRoutes);
  await app.register(pageRoutes, { ctx });
  await app.register((await import('./routes/runbooks.js')).runbookRoutes);

  const retention = options.retention
    ? new RetentionScheduler({
        ...options.retention,
        store,
        nowMs: () => clock.now(),
        onResult: (r, ms) => app.log.info({ pruned: r, durationMs: Math.round(ms) }, 'retention: pruned'),
        onError: (err) => app.log.error({ err }, 'retention: prune failed'),
      })
    : null;

  app.addHook('onReady', async () => {
    await hostClock.start?.();
    retention?.start();
    if (libvirt) {
      // The first read usually takes milliseconds; a slow virsh must not hold up the listener.
      const first = libvirt.start();
      await Promise.race([first, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      // From now on a read that changes what the judge sees re-judges the stored latest states.
      libvirt.onChange(() => void rejudge(ctx, 'libvirt domains changed', app.log).catch((err: unknown) => app.log.error({ err }, 'rejudge failed')));
    }
    // Every stored latest state judged under this policy and these domains before the first
    // request is answered: all surfaces agree from the start.
    await rejudge(ctx, 'start', app.log);
    await warmFleetRows(ctx, app.log);
    // Catch-up of missed periods runs in the background; shutdown waits for it.
    if (exports) void exports.start().catch((err: unknown) => app.log.error({ err }, 'exports: the scheduler did not start'));
  });
  app.addHook('onClose', async () => {
    clearInterval(storeWatch);
    hostClock.stop?.();
    refusalLog.flush();
    // The export in flight finishes (and its files are complete) before the store closes.
    await exports?.stop();
    await libvirt?.stop();
    await retention?.stop();
    // Answer what is queued before the owner closes the store.
    await committer.close();
  });
  app.decorate('clockwatch', ctx);
  return app;
}

/**
 * Before the first request: the fleet's rows read, shaped and rendered as JSON once, into the
 * store's row cache (SQLite, store/sqlite-fleet-rows.ts), and /metrics' per-agent lines once
 * (metrics-agents.ts), so that the first dashboard poll and the first scrape after a restart cost
 * what the next ones do instead of a few hundred ms of event loop at 10,000 agents, while ingest
 * and the time exchange wait behind them. A store without a row cache (PostgreSQL reads every
 * listing afresh) is not warmed: there is nothing to keep.
 */
export async function warmFleetRows(ctx: AppContext, log: { info: (o: object, m: string) => void }): Promise<void> {
  const t0 = performance.now();
  // The most a page of the fleet view holds (schemas.ts).
  const page = await ctx.store.listAgents({ nowMs: ctx.clock.now(), offset: 0, limit: MAX_AGENTS_PAGE });
  if (!page.rowsJson) return;
  page.rowsJson();
  await ctx.metrics.renderBuffers();
  log.info({ warm: { agents: page.total, rows: page.rows.length, durationMs: Math.round(performance.now() - t0) } }, `fleet rows of ${page.rows.length} agent(s) ready`);
}

/**
 * Judges every stored latest state again (policy or libvirt snapshot changed) and logs what
 * changed: how many agents, and how many changed status (by from→to).
 */
export async function rejudge(ctx: AppContext, why: string, log: { info: (o: object, m: string) => void }): Promise<RejudgeResult> {
  const r = await ctx.store.rejudge((s) => ctx.compliance.storedVerdictOf(s));
  const changedStatus = Object.values(r.statusChanges).reduce((a, b) => a + b, 0);
  log.info(
    { rejudge: { why, agents: r.agents, changed: r.changed, statusChanged: changedStatus, statusChanges: r.statusChanges, durationMs: Math.round(r.durationMs * 10) / 10 } },
    `rejudged ${r.agents} agent(s) (${why}): ${changedStatus} changed status, ${r.changed} changed a check`,
  );
  return r;
}

declare module 'fastify' {
  interface FastifyInstance {
    clockwatch: AppContext;
  }
}
