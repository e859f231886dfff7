/**
 * `serve` configuration: the options of the contract plus a few operational ones, resolved with
 * flags > env > config file > defaults, and every file they name (policy, tokens, TLS) loaded and
 * checked at start, so a bad one stops the collector before it listens.
 */
import { hostname } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parsePolicyText, type PolicyDocument } from '@clockwatch/shared';
import { loadTokensFile, type TokenEntry } from './auth.js';
import { loadSigningKey } from './exports/manifest.js';
import { validateExportInterval } from './exports/scheduler.js';
import { parseHostAuditParts, type HostAuditPart } from './libvirt/host-audit.js';
import {
  byteSize,
  ConfigError,
  duration,
  listenAddress,
  nonEmpty,
  nonNegativeInt,
  oneOf,
  defineOptions,
  parseOptions,
  positiveNumber,
} from './options.js';
import type { Durability } from './store/sqlite.js';

export const DEFAULT_DB = './data/clockwatch.db';

export const SERVE_OPTIONS = defineOptions([
  { key: 'listen', flag: 'listen', arg: 'HOST:PORT', help: 'address to listen on', default: '127.0.0.1:7070', parse: (t) => (listenAddress(t), t) },
  { key: 'timeListen', flag: 'time-listen', arg: 'HOST:PORT|auto|off', help: "dedicated POST /v1/time listener on its own thread (auto: --listen's host, its port + 1, or any free port when that is taken; off: none)", default: 'auto', parse: timeListenText },
  { key: 'db', flag: 'db', arg: 'PATH|URL', help: 'SQLite database file (its directory is created), or postgresql://… to share one store among collectors', default: DEFAULT_DB, parse: nonEmpty },
  { key: 'metricsScope', flag: 'metrics-scope', arg: 'own|fleet', help: '/metrics per-agent series: the agents this collector measured, or the whole fleet of a shared store', default: 'own', parse: oneOf('own', 'fleet') },
  { key: 'name', flag: 'name', arg: 'NAME', help: "this collector's name, shown with every agent it measured (API, page); default: the host name", parse: nonEmpty },
  { key: 'policy', flag: 'policy', arg: 'FILE', help: 'compliance policy (JSON); default: the built-in KVM policy', parse: nonEmpty },
  { key: 'tokens', flag: 'tokens', arg: 'FILE', help: 'agent tokens (sha256:<hex> [pattern] per line); without it, reports only from loopback', parse: nonEmpty },
  { key: 'readTokens', flag: 'read-tokens', arg: 'FILE', help: 'tokens for the read endpoints; without it they are open', parse: nonEmpty },
  { key: 'adminTokens', flag: 'admin-tokens', arg: 'FILE', help: 'tokens that may run an export (POST /v1/exports); without it only loopback clients may', parse: nonEmpty },
  { key: 'exportDir', flag: 'export-dir', arg: 'DIR', help: 'write compliance exports here (scheduled, and POST /v1/exports); created if missing', parse: nonEmpty },
  { key: 'exportEvery', flag: 'export-every', arg: 'DURATION', help: 'export period, aligned to UTC (24h: each UTC day; 1h, 6h, 7d...)', default: 86_400_000, parse: exportInterval },
  { key: 'exportKeep', flag: 'export-keep', arg: 'N', help: 'scheduled exports kept in --export-dir (older ones are deleted; manual runs never count)', default: 30, parse: atLeastOne },
  { key: 'exportManualKeep', flag: 'export-manual-keep', arg: 'N', help: 'manual exports (POST /v1/exports) kept in --export-dir/manual', default: 10, parse: atLeastOne },
  { key: 'exportKey', flag: 'export-key', arg: 'FILE', help: 'Ed25519 private key (PEM, openssl genpkey -algorithm ed25519) that signs each manifest', parse: nonEmpty },
  { key: 'libvirtXmlDir', flag: 'libvirt-xml-dir', arg: 'DIR', help: 'libvirt domain XML files to audit (e.g. /etc/libvirt/qemu)', parse: nonEmpty },
  { key: 'libvirtUri', flag: 'libvirt-uri', arg: 'URI', help: "audit every domain of this libvirt connection through virsh (e.g. qemu:///system)", parse: libvirtUri },
  { key: 'hostAudit', flag: 'host-audit', arg: 'PARTS', help: "after each libvirt read, audit every running domain of --libvirt-uri from the host: rtc (QEMU's RTC through virsh qemu-monitor-command qom-get; needs a read-write connection, and libvirt marks each domain \"tainted: custom-monitor\" in its log), guest-agent (time, zone, OS through qemu-guest-agent: virsh domtime, guestinfo)", parse: parseHostAuditParts },
  { key: 'libvirtRefresh', flag: 'libvirt-refresh', arg: 'DURATION', help: 'how often the domain XML is read again', default: 300_000, parse: duration },
  { key: 'retentionDays', flag: 'retention-days', arg: 'N', help: 'days raw samples are kept', default: 30, parse: positiveNumber },
  { key: 'rollupRetentionDays', flag: 'rollup-retention-days', arg: 'N', help: 'days hourly rollups are kept (agents silent that long are forgotten)', default: 400, parse: positiveNumber },
  { key: 'pruneEvery', flag: 'prune-every', arg: 'DURATION', help: 'how often retention runs', default: 3_600_000, parse: duration },
  { key: 'tlsCert', flag: 'tls-cert', arg: 'FILE', help: 'TLS certificate (PEM); needs --tls-key', parse: nonEmpty },
  { key: 'tlsKey', flag: 'tls-key', arg: 'FILE', help: 'TLS private key (PEM); needs --tls-cert', parse: nonEmpty },
  { key: 'durability', flag: 'durability', arg: 'normal|full', help: 'normal: commits survive a process kill; full: fsync per commit, they survive power loss', default: 'normal', parse: oneOf('normal', 'full') },
  { key: 'bodyLimit', flag: 'body-limit', arg: 'SIZE', help: 'largest POST /v1/reports body', default: 4 * 1024 * 1024, parse: byteSize },
  { key: 'maxBatch', flag: 'max-batch', arg: 'N', help: 'most reports in one array', default: 1000, parse: (t) => { const n = nonNegativeInt(t); if (n < 1) throw new Error(`expected at least 1, got '${t}'`); return n; } },
  { key: 'requestTimeout', flag: 'request-timeout', arg: 'DURATION', help: 'time a client has to send a whole request (slow clients get 408)', default: 30_000, parse: duration },
  { key: 'rateLimit', flag: 'rate-limit', arg: 'N', help: 'report requests per minute per agent (0: no limit)', default: 60, parse: nonNegativeInt },
  { key: 'hostNtpRefresh', flag: 'host-ntp-refresh', arg: 'DURATION', help: "how often the host's own NTP state is read", default: 45_000, parse: duration },
  { key: 'logLevel', flag: 'log-level', arg: 'LEVEL', help: 'fatal, error, warn, info, debug, trace or silent', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  { key: 'config', flag: 'config', arg: 'FILE', help: 'JSON file with any of these options (keys as camelCase or as the flag)', parse: nonEmpty },
]);

/** --export-every: a duration that lines periods up with UTC days (scheduler.validateExportInterval). */
function exportInterval(text: string): number {
  const ms = duration(text);
  try {
    return validateExportInterval(ms, '');
  } catch (err) {
    throw new Error(`${(err as Error).message.replace(/^: /, '')} (got '${text}')`);
  }
}

/** --time-listen: 'auto', 'off' or HOST:PORT. */
function timeListenText(text: string): string {
  const t = text.trim();
  if (t === 'auto' || t === 'off') return t;
  listenAddress(t);
  return t;
}

/** The dedicated time listener's address: auto is the main listener's host and its port + 1 (0 stays 0). */
export function timeListenAddress(text: string, listen: { host: string; port: number }): { host: string; port: number } | null {
  if (text === 'off') return null;
  if (text === 'auto') return { host: listen.host, port: listen.port === 0 ? 0 : listen.port + 1 };
  return listenAddress(text);
}

function atLeastOne(text: string): number {
  const n = nonNegativeInt(text);
  if (n < 1) throw new Error(`expected at least 1, got '${text}'`);
  return n;
}

/** A libvirt connection URI (virsh -c): driver[+transport]://[host]/path; never an option-like string. */
function libvirtUri(text: string): string {
  if (!/^[a-z][a-z0-9]*(\+[a-z0-9]+)?:\/\/[^\s]*$/i.test(text)) throw new Error(`expected a libvirt URI such as qemu:///system, got '${text}'`);
  return text;
}

export interface ServeConfig {
  listen: { host: string; port: number };
  /** The dedicated time listener (null: --time-listen off; the main listener answers /v1/time anyway). */
  timeListen: { host: string; port: number } | null;
  /** --time-listen auto: a taken port + 1 falls back to any free port (agents learn it from the header). */
  timeListenAuto: boolean;
  db: string;
  /** This collector's name (--name, default the hostname). */
  name: string;
  metricsScope: 'own' | 'fleet';
  durability: Durability;
  policy: PolicyDocument | null;
  policyFile: string | null;
  agentTokens: TokenEntry[] | null;
  tokensFile: string | null;
  readTokens: TokenEntry[] | null;
  readTokensFile: string | null;
  adminTokens: TokenEntry[] | null;
  exportManualKeep: number;
  exportDir: string | null;
  exportEveryMs: number;
  exportKeep: number;
  exportKey: KeyObject | null;
  exportKeyFile: string | null;
  libvirtXmlDir: string | null;
  libvirtUri: string | null;
  libvirtRefreshMs: number;
  /** --host-audit rtc,guest-agent (needs --libvirt-uri); null: off. */
  hostAudit: HostAuditPart[] | null;
  retentionDays: number;
  rollupRetentionDays: number;
  pruneEveryMs: number;
  tls: { cert: Buffer; key: Buffer } | null;
  bodyLimit: number;
  maxBatch: number;
  rateLimitPerMinute: number;
  requestTimeoutMs: number;
  hostNtpRefreshMs: number;
  logLevel: string;
  /** Where each option came from ('--db', 'CLOCKWATCH_DB', 'db in FILE', 'default'). */
  sources: Record<string, string>;
}

function readFileFor(where: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Resolves and checks the serve options; throws ConfigError with one line naming the option. */
export function parseServeConfig(argv: readonly string[], env: Record<string, string | undefined>): ServeConfig {
  const { values: v, sources, positionals } = parseOptions(SERVE_OPTIONS, argv, env, 'config');
  if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}' (see --help)`);
  const where = (k: string) => sources[k] ?? `--${k}`;

  let policy: PolicyDocument | null = null;
  const policyFile = v.policy ?? null;
  if (policyFile) {
    try {
      policy = parsePolicyText(readFileFor(where('policy'), policyFile).toString('utf8'));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${where('policy')}: ${policyFile}: ${(err as Error).message}`);
    }
  }
  const tokensOf = (key: 'tokens' | 'readTokens' | 'adminTokens'): TokenEntry[] | null => {
    const f = v[key];
    if (!f) return null;
    readFileFor(where(key), f);
    try {
      const entries = loadTokensFile(f);
      if (entries.length === 0) throw new Error(`${f} holds no token (run 'clockwatch-collector token new')`);
      return entries;
    } catch (err) {
      throw new ConfigError(`${where(key)}: ${(err as Error).message}`);
    }
  };
  const agentTokens = tokensOf('tokens');
  const readTokens = tokensOf('readTokens');
  const adminTokens = tokensOf('adminTokens');

  const cert = v.tlsCert;
  const key = v.tlsKey;
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(cert ? `${where('tlsCert')}: needs --tls-key as well` : `${where('tlsKey')}: needs --tls-cert as well`);
  }
  const tls = cert && key ? { cert: readFileFor(where('tlsCert'), cert), key: readFileFor(where('tlsKey'), key) } : null;

  const exportKeyFile = v.exportKey ?? null;
  let exportKey: KeyObject | null = null;
  if (exportKeyFile) {
    const pem = readFileFor(where('exportKey'), exportKeyFile);
    try {
      exportKey = loadSigningKey(pem);
    } catch (err) {
      throw new ConfigError(`${where('exportKey')}: ${exportKeyFile}: ${(err as Error).message}`);
    }
    if (!v.exportDir) throw new ConfigError(`${where('exportKey')}: needs --export-dir as well`);
  }

  const libvirtXmlDir = v.libvirtXmlDir ?? null;
  if (libvirtXmlDir) {
    let isDir = false;
    try {
      isDir = statSync(libvirtXmlDir).isDirectory();
    } catch (err) {
      throw new ConfigError(`${where('libvirtXmlDir')}: cannot read ${libvirtXmlDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!isDir) throw new ConfigError(`${where('libvirtXmlDir')}: ${libvirtXmlDir} is not a directory`);
  }

  const hostAudit = v.hostAudit ?? null;
  if (hostAudit && !v.libvirtUri) throw new ConfigError(`${where('hostAudit')}: needs --libvirt-uri (the audit runs virsh against it)`);

  const retentionDays = v.retentionDays;
  const rollupRetentionDays = v.rollupRetentionDays;
  if (rollupRetentionDays < retentionDays) {
    throw new ConfigError(`${where('rollupRetentionDays')}: rollups (${rollupRetentionDays} d) must be kept at least as long as samples (${retentionDays} d)`);
  }

  return Object.freeze({
    listen: listenAddress(v.listen),
    timeListen: timeListenAddress(v.timeListen, listenAddress(v.listen)),
    timeListenAuto: v.timeListen === 'auto',
    db: v.db,
    name: v.name ?? hostname(),
    metricsScope: v.metricsScope as 'own' | 'fleet',
    durability: v.durability satisfies Durability,
    policy,
    policyFile,
    agentTokens,
    tokensFile: v.tokens ?? null,
    readTokens,
    readTokensFile: v.readTokens ?? null,
    adminTokens,
    exportManualKeep: v.exportManualKeep,
    exportDir: v.exportDir ?? null,
    exportEveryMs: v.exportEvery,
    exportKeep: v.exportKeep,
    exportKey,
    exportKeyFile,
    libvirtXmlDir,
    libvirtUri: v.libvirtUri ?? null,
    libvirtRefreshMs: v.libvirtRefresh,
    hostAudit,
    retentionDays,
    rollupRetentionDays,
    pruneEveryMs: v.pruneEvery,
    tls,
    bodyLimit: v.bodyLimit,
    maxBatch: v.maxBatch,
    rateLimitPerMinute: v.rateLimit,
    requestTimeoutMs: v.requestTimeout,
    hostNtpRefreshMs: v.hostNtpRefresh,
    logLevel: v.logLevel,
    sources,
  });
}
