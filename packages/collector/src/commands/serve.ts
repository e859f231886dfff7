/**
 * `clockwatch-collector serve`: configure, open the store, read the host's clock, build the app,
 * listen, and on SIGINT/SIGTERM stop accepting, answer what is in flight, commit, close.
 */
import { buildApp, loggerOptions } from '../app.js';
import { describeBinding } from '../auth.js';
import { parseServeConfig, SERVE_OPTIONS } from '../config.js';
import { CachedHostClock } from '../host-clock.js';
import { ConfigError, helpText } from '../options.js';
import { acquireServeLock, ServeLockError, type ServeLock } from '../store/serve-lock.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite.js';
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
    if (cfg.db !== ':memory:') {
      try {
        const { mkdirSync } = await import('node:fs');
        const { dirname } = await import('node:path');
        mkdirSync(dirname(cfg.db), { recursive: true });
        lock = acquireServeLock(cfg.db, { pid: process.pid, startedAtMs: Date.now() });
      } catch (err) {
        throw new ConfigError(`${cfg.sources.db ?? '--db'}: ${err instanceof ServeLockError ? err.message : `cannot create the directory of ${cfg.db}: ${(err as Error).message}`}`);
      }
    }
    let store: SqliteStore;
    try {
      store = openSqliteStore({ path: cfg.db, durability: cfg.durability, backgroundCheckpoint: true });
    } catch (err) {
      lock?.release();
      throw new ConfigError(`${cfg.sources.db ?? '--db'}: cannot open ${cfg.db}: ${(err as Error).message}`);
    }

    let app: Awaited<ReturnType<typeof buildApp>> | undefined;
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
        hostClock,
        agentTokens: cfg.agentTokens,
        readTokens: cfg.readTokens,
        adminTokens: cfg.adminTokens,
        bodyLimit: cfg.bodyLimit,
        maxBatch: cfg.maxBatch,
        rateLimit: { perMinute: cfg.rateLimitPerMinute },
        requestTimeoutMs: cfg.requestTimeoutMs,
        retention: { retentionDays: cfg.retentionDays, rollupRetentionDays: cfg.rollupRetentionDays, everyMs: cfg.pruneEveryMs },
        logger: loggerOptions(cfg.logLevel),
        https: cfg.tls,
        exports: cfg.exportDir === null ? null : { dir: cfg.exportDir, everyMs: cfg.exportEveryMs, keep: cfg.exportKeep, manualKeep: cfg.exportManualKeep, signingKey: cfg.exportKey },
        libvirt:
          cfg.libvirtXmlDir === null && cfg.libvirtUri === null
            ? null
            : { xmlDir: cfg.libvirtXmlDir, uri: cfg.libvirtUri, refreshMs: cfg.libvirtRefreshMs },
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
      { url: address, db: cfg.db, durability: cfg.durability, retentionDays: cfg.retentionDays, version: COLLECTOR_VERSION },
      `clockwatch-collector listening on ${address}`,
    );

    return await new Promise<number>((resolve) => {
      let stopping = false;
      io.onSignal((signal) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping: finishing requests in flight and committing');
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
