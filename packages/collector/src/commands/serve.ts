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
    let store: SqliteStore;
    try {
      store = openSqliteStore({ path: cfg.db, durability: cfg.durability, backgroundCheckpoint: true });
    } catch (err) {
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
        bodyLimit: cfg.bodyLimit,
        maxBatch: cfg.maxBatch,
        rateLimit: { perMinute: cfg.rateLimitPerMinute },
        requestTimeoutMs: cfg.requestTimeoutMs,
        retention: { retentionDays: cfg.retentionDays, rollupRetentionDays: cfg.rollupRetentionDays, everyMs: cfg.pruneEveryMs },
        logger: loggerOptions(cfg.logLevel),
        https: cfg.tls,
        exports: cfg.exportDir === null ? null : { dir: cfg.exportDir, everyMs: cfg.exportEveryMs, keep: cfg.exportKeep, signingKey: cfg.exportKey },
        libvirt:
          cfg.libvirtXmlDir === null && cfg.libvirtUri === null
            ? null
            : { xmlDir: cfg.libvirtXmlDir, uri: cfg.libvirtUri, refreshMs: cfg.libvirtRefreshMs, hostAudit: cfg.hostAudit },
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    const log = app.log;
    if (cfg.agentTokens === null) {
      log.warn('no --tokens: accepting reports only from loopback addresses (127.0.0.0/8, ::1)');
    } else {
      log.info({ tokens: cfg.tokensFile, entries: cfg.agentTokens.map((e) => describeBinding(e.binding)) }, 'agent tokens loaded');
    }
    if (cfg.readTokens === null) log.info('no --read-tokens: read endpoints are open');
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
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(`${cfg.sources.listen ?? '--listen'}: cannot listen on ${cfg.listen.host}:${cfg.listen.port}: ${code ?? (err as Error).message}`);
    }
    log.info(
      { url: address, db: cfg.db, durability: cfg.durability, retentionDays: cfg.retentionDays, version: COLLECTOR_VERSION },
      `clockwatch-collector listening on ${address}`,
    );

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
        const a = app;
        void (async () => {
          try {
            await a?.close();
            await store.close();
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
