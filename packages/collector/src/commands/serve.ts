/**
 * `clockwatch-collector serve`: configure, open the store, read the host's clock, build the app,
 * judge every stored latest state under the policy (before answering), listen, and on
 * SIGINT/SIGTERM stop accepting, answer what is in flight, commit, close. SIGHUP reads the
 * configuration again — the policy and the tokens files — and judges again; a bad file keeps
 * everything as it was and the log says why.
 */
import { DEFAULT_POLICY } from '@clockwatch/shared';
import { buildApp, loggerOptions, rejudge } from '../app.js';
import { describeBinding } from '../auth.js';
import { parseServeConfig, SERVE_OPTIONS } from '../config.js';
import { CachedHostClock } from '../host-clock.js';
import { ConfigError, helpText } from '../options.js';
import { openStore } from '../store/open.js';
import { SqliteStore } from '../store/sqlite.js';
import { isSharedStore, type Store } from '../store/types.js';
import { startTimeService, type TimeService } from '../time/time-service.js';
import { acquireServeLock, ServeLockError, type ServeLock } from '../store/serve-lock.js';
import { isPostgresUrl, redactDbUrl } from '../store/db-url.js';
import { COLLECTOR_VERSION } from '../version.js';
import type { Command, CommandIO } from './types.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the collector: time service, ingest, API, metrics',
  async run(io: CommandIO): Promise<number> {
    if (io.argv.includes('--help') || io.argv.includes('-h')) {
      io.out(helpText('usage: clockwatch-collector serve [options]', SERVE_OPTIONS));
      return 0;
    }
    const cfg = parseServeConfig(io.argv, io.env);
    if (cfg.exportDir !== null) {
      const { mkdirSync } = await import('node:fs');
      try {
        mkdirSync(cfg.exportDir, { recursive: true });
      } catch (err) {
        throw new ConfigError(`${cfg.sources.exportDir ?? '--export-dir'}: cannot create ${cfg.exportDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    // One serve per database (store/serve-lock.ts); export, status, prune and backups need no lock.
    let lock: ServeLock | null = null;
    if (cfg.db !== ':memory:' && !isPostgresUrl(cfg.db)) {
      try {
        const { mkdirSync } = await import('node:fs');
        const { dirname } = await import('node:path');
        mkdirSync(dirname(cfg.db), { recursive: true });
        lock = acquireServeLock(cfg.db, { pid: process.pid, startedAtMs: Date.now() });
      } catch (err) {
        throw new ConfigError(`${cfg.sources.db ?? '--db'}: ${err instanceof ServeLockError ? err.message : `cannot create the directory of ${cfg.db}: ${(err as Error).message}`}`);
      }
    }
    let store: Store;
    try {
      store = await openStore({ db: cfg.db, where: cfg.sources.db ?? '--db', durability: cfg.durability, backgroundCheckpoint: true, collector: cfg.name });
    } catch (err) {
      lock?.release();
      throw err;
    }

    let app: Awaited<ReturnType<typeof buildApp>> | undefined;
    let timeService: TimeService | null = null;
    // Loaded here, after the configuration is known to be good (the agent's readers are not small).
    const { agentNtpReader } = await import('../host-ntp.js');
    const hostClock = new CachedHostClock({
      read: agentNtpReader({ env: io.env }),
      refreshMs: cfg.hostNtpRefreshMs,
      nowMs: () => Date.now(),
      onError: (err) => app?.log.error({ err }, 'reading the host NTP state failed'),
      onChange: (s) =>
        app?.log[s.synchronized === false ? 'warn' : 'info'](
          { host: { synchronized: s.synchronized, ntp: s.ntp } },
          s.synchronized === false
            ? 'this host is not NTP-synchronised: verdicts will say the reference is unreliable'
            : `host NTP state: ${s.synchronized === null ? 'unknown' : 'synchronised'}`,
        ),
    });

    try {
      app = await buildApp({
        store,
        policy: cfg.policy ?? undefined,
        name: cfg.name,
        metricsScope: cfg.metricsScope,
        hostClock,
        agentTokens: cfg.agentTokens,
        readTokens: cfg.readTokens,
        adminTokens: cfg.adminTokens,
        bodyLimit: cfg.bodyLimit,
        maxBatch: cfg.maxBatch,
        rateLimit: { perMinute: cfg.rateLimitPerMinute },
        requestTimeoutMs: cfg.requestTimeoutMs,
        timePort: () => timeService?.port ?? null,
        retention: { retentionDays: cfg.retentionDays, rollupRetentionDays: cfg.rollupRetentionDays, everyMs: cfg.pruneEveryMs },
        logger: loggerOptions(cfg.logLevel),
        https: cfg.tls,
        exports: cfg.exportDir === null ? null : { dir: cfg.exportDir, everyMs: cfg.exportEveryMs, keep: cfg.exportKeep, manualKeep: cfg.exportManualKeep, signingKey: cfg.exportKey },
        libvirt:
          cfg.libvirtXmlDir === null && cfg.libvirtUri === null
            ? null
            : { xmlDir: cfg.libvirtXmlDir, uri: cfg.libvirtUri, refreshMs: cfg.libvirtRefreshMs, hostAudit: cfg.hostAudit },
      });
    } catch (err) {
      await store.close();
      lock?.release();
      throw err;
    }
    const log = app.log;
    if (cfg.agentTokens === null) {
      log.warn('no --tokens: accepting reports only from loopback addresses (127.0.0.0/8, ::1)');
    } else {
      log.info({ tokens: cfg.tokensFile, entries: cfg.agentTokens.map((e) => describeBinding(e.binding)) }, 'agent tokens loaded');
    }
    if (cfg.readTokens === null) log.info('no --read-tokens: read endpoints are open');
    if (cfg.exportDir !== null && cfg.adminTokens === null) log.info('no --admin-tokens: only loopback clients may run an export (POST /v1/exports)');
    if (cfg.exportDir !== null) {
      log.info(
        { exportDir: cfg.exportDir, everyMs: cfg.exportEveryMs, keep: cfg.exportKeep, signed: cfg.exportKey !== null, keyFile: cfg.exportKeyFile },
        `exports: every ${cfg.exportEveryMs / 3_600_000} h into ${cfg.exportDir}${cfg.exportKey ? ', manifests signed' : ', manifests not signed (no --export-key)'}`,
      );
    } else {
      log.info('no --export-dir: scheduled exports are off and /v1/exports answers CW_ERR_EXPORTS_NOT_CONFIGURED');
    }
    if (cfg.libvirtXmlDir !== null || cfg.libvirtUri !== null) {
      log.info({ xmlDir: cfg.libvirtXmlDir, uri: cfg.libvirtUri, refreshMs: cfg.libvirtRefreshMs }, 'libvirt clock audit on');
    }
    log.info({ policy: cfg.policyFile ?? 'built-in defaults' }, 'compliance policy');
    // A database of an older collector brought to this schema on open (migrations 6 and 7 rewrite the samples table): how long it took.
    const migrated = store instanceof SqliteStore && (store.migrations[0]?.version ?? 1) > 1 ? store.migrations : [];
    if (migrated.length > 0) log.info({ db: cfg.db, migrations: migrated }, `database schema migrated to version ${migrated.at(-1)!.version} in ${migrated.reduce((t, m) => t + m.ms, 0)} ms`);

    // The dedicated time listener first, so that the main listener names it from its first answer.
    if (cfg.timeListen !== null) {
      const start = (port: number) => startTimeService({ host: cfg.timeListen!.host, port, tls: cfg.tls, requestTimeoutMs: cfg.requestTimeoutMs });
      try {
        try {
          timeService = await start(cfg.timeListen.port);
        } catch (err) {
          // auto: port + 1 is a convenience, not a contract (the agents read the port from the
          // clockwatch-time-port header); taken, any free port does. An explicit port must be that port.
          if (!(cfg.timeListenAuto && cfg.timeListen.port !== 0 && (err as { code?: string | null }).code === 'EADDRINUSE')) throw err;
          timeService = await start(0);
          app.log.warn({ timePort: timeService.port }, `--time-listen auto: port ${cfg.timeListen.port} is taken; the time listener took port ${timeService.port} (choose one with --time-listen HOST:PORT)`);
        }
      } catch (err) {
        await app.close();
        await store.close();
        const code = (err as { code?: string | null }).code;
        throw new ConfigError(
          `${cfg.sources.timeListen ?? '--time-listen'}: cannot listen on ${cfg.timeListen.host}:${cfg.timeListen.port}: ${code ?? (err as Error).message} (choose another with --time-listen HOST:PORT, or --time-listen off)`,
        );
      }
      // The worker counts what it answers; /metrics shows it in the same counter as the main route's.
      const ts = timeService;
      const counter = app.clockwatch.metrics.timeRequests;
      let synced = 0;
      const sync = setInterval(() => {
        const n = ts.answered();
        if (n > synced) counter.inc(n - synced);
        synced = n;
      }, 1000);
      sync.unref();
      app.addHook('onClose', async () => {
        clearInterval(sync);
        await ts.close();
      });
    }
    let address: string;
    try {
      address = await app.listen({ host: cfg.listen.host, port: cfg.listen.port });
    } catch (err) {
      await app.close();
      await store.close();
      lock?.release();
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(`${cfg.sources.listen ?? '--listen'}: cannot listen on ${cfg.listen.host}:${cfg.listen.port}: ${code ?? (err as Error).message}`);
    }
    log.info(
      { url: address, db: redactDbUrl(cfg.db), store: store.kind, collector: cfg.name, durability: cfg.durability, retentionDays: cfg.retentionDays, version: COLLECTOR_VERSION },
      `clockwatch-collector listening on ${address}`,
    );
    if (timeService) {
      log.info({ timePort: timeService.port }, `time exchange also on port ${timeService.port} (its own thread; agents learn it from the clockwatch-time-port header)`);
    } else {
      log.info('--time-listen off: the time exchange shares the main listener with ingest');
    }

    // A store shared by many collectors keeps each one's own NTP state (it is its guests' reference).
    let presence: NodeJS.Timeout | null = null;
    if (isSharedStore(store)) {
      const shared = store;
      const record = () =>
        void shared
          .recordCollector({ nowMs: Date.now(), hostSynchronized: hostClock.current().synchronized, hostNtp: hostClock.current().ntp })
          .catch((err: unknown) => log.warn({ err }, 'could not record this collector in the shared store'));
      record();
      presence = setInterval(record, cfg.hostNtpRefreshMs);
      presence.unref();
    }

    const reload = async (): Promise<void> => {
      const a = app;
      if (!a) return;
      let next: ReturnType<typeof parseServeConfig>;
      try {
        next = parseServeConfig(io.argv, io.env);
      } catch (err) {
        log.error({ reload: 'refused', err: (err as Error).message }, `SIGHUP: the configuration did not load, nothing changed: ${(err as Error).message}`);
        return;
      }
      const ctx = a.clockwatch;
      // Tokens are swapped, never turned on or off: that changes who may connect and is a restart.
      const tokens = (now: unknown, then: unknown) => (now === null) === (then === null);
      if (!tokens(next.agentTokens, ctx.agentTokens) || !tokens(next.readTokens, ctx.readTokens)) {
        log.error({ reload: 'refused' }, 'SIGHUP: --tokens/--read-tokens were added or removed; restart the collector for that; nothing changed');
        return;
      }
      ctx.agentTokens = next.agentTokens;
      ctx.readTokens = next.readTokens;
      ctx.compliance.setPolicy(next.policy ?? DEFAULT_POLICY);
      log.info({ policy: next.policyFile ?? 'built-in defaults', tokens: next.agentTokens?.length ?? null, readTokens: next.readTokens?.length ?? null }, 'SIGHUP: policy and tokens reloaded');
      try {
        await rejudge(ctx, 'SIGHUP', log);
      } catch (err) {
        log.error({ err }, 'SIGHUP: rejudge failed');
      }
    };

    return await new Promise<number>((resolve) => {
      let stopping = false;
      let reloading = Promise.resolve();
      io.onSignal((signal) => {
        if (signal === 'SIGHUP') {
          if (!stopping) reloading = reloading.then(() => reload());
          return;
        }
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping: finishing requests in flight and committing');
        if (presence) clearInterval(presence);
        const a = app;
        void (async () => {
          try {
            await a?.close();
            await store.close();
            lock?.release();
            log.info('stopped');
            resolve(0);
          } catch (err) {
            log.error({ err }, 'error while stopping');
            resolve(1);
          }
        })();
      });
    });
  },
};
