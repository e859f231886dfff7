/**
 * Configuration: flags > environment (CLOCKWATCH_*) > config file (JSON) > defaults, validated and
 * frozen at start. A bad value is a ConfigError whose message is one line naming the option.
 */
import { AGENT_VERSION } from './version.js';
import { ConfigError } from '@clockwatch/shared/node';

export interface AgentConfig {
  collector: string;
  token: string | null;
  tokenFile: string | null;
  intervalS: number;
  root: string;
  spoolDir: string;
  id: string | null;
  labels: Record<string, string>;
  configFile: string | null;
  mode: 'print' | 'once' | 'loop';
  listen: { host: string; port: number } | null;
  hwclock: boolean;
  samples: number;
  stepThresholdMs: number;
  spoolMaxReports: number;
  spoolMaxBytes: number;
  timeoutMs: number;
  chronyc: { host?: string; port?: number } | null;
  replayDir: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** The one ConfigError of both programs (@clockwatch/shared/node): `new ConfigError(option, message)`. */
export { ConfigError };

type Kind = 'string' | 'int' | 'number' | 'bool' | 'labels';
interface OptionDef {
  key: keyof AgentConfig | 'token' | 'tokenFile';
  flag: string;
  env: string | null;
  file: string | null;
  kind: Kind;
}

const OPTIONS: OptionDef[] = [
  { key: 'collector', flag: '--collector', env: 'CLOCKWATCH_COLLECTOR', file: 'collector', kind: 'string' },
  { key: 'token', flag: '--token', env: 'CLOCKWATCH_TOKEN', file: 'token', kind: 'string' },
  { key: 'tokenFile', flag: '--token-file', env: 'CLOCKWATCH_TOKEN_FILE', file: 'tokenFile', kind: 'string' },
  { key: 'intervalS', flag: '--interval', env: 'CLOCKWATCH_INTERVAL', file: 'interval', kind: 'number' },
  { key: 'root', flag: '--root', env: 'CLOCKWATCH_ROOT', file: 'root', kind: 'string' },
  { key: 'spoolDir', flag: '--spool', env: 'CLOCKWATCH_SPOOL', file: 'spool', kind: 'string' },
  { key: 'id', flag: '--id', env: 'CLOCKWATCH_ID', file: 'id', kind: 'string' },
  { key: 'labels', flag: '--label', env: 'CLOCKWATCH_LABELS', file: 'labels', kind: 'labels' },
  { key: 'listen', flag: '--listen', env: 'CLOCKWATCH_LISTEN', file: 'listen', kind: 'string' },
  { key: 'hwclock', flag: '--hwclock', env: 'CLOCKWATCH_HWCLOCK', file: 'hwclock', kind: 'bool' },
  { key: 'samples', flag: '--samples', env: 'CLOCKWATCH_SAMPLES', file: 'samples', kind: 'int' },
  { key: 'stepThresholdMs', flag: '--step-threshold-ms', env: 'CLOCKWATCH_STEP_THRESHOLD_MS', file: 'stepThresholdMs', kind: 'number' },
  { key: 'spoolMaxReports', flag: '--spool-max-reports', env: 'CLOCKWATCH_SPOOL_MAX_REPORTS', file: 'spoolMaxReports', kind: 'int' },
  { key: 'spoolMaxBytes', flag: '--spool-max-bytes', env: 'CLOCKWATCH_SPOOL_MAX_BYTES', file: 'spoolMaxBytes', kind: 'int' },
  { key: 'timeoutMs', flag: '--timeout-ms', env: 'CLOCKWATCH_TIMEOUT_MS', file: 'timeoutMs', kind: 'int' },
  { key: 'chronyc', flag: '--chronyc', env: 'CLOCKWATCH_CHRONYC', file: 'chronyc', kind: 'string' },
  { key: 'replayDir', flag: '--replay', env: 'CLOCKWATCH_REPLAY', file: null, kind: 'string' },
  { key: 'logLevel', flag: '--log-level', env: 'CLOCKWATCH_LOG_LEVEL', file: 'logLevel', kind: 'string' },
];

export const USAGE = `usage: clockwatch-agent [--collector URL] [--token T | --token-file F] [--interval 60] [--root /]
                        [--spool DIR] [--id ID] [--label k=v]... [--config FILE]
                        [--once | --print] [--listen HOST:PORT]
       more: [--hwclock] [--samples 6] [--step-threshold-ms 1000] [--spool-max-reports 1000]
             [--spool-max-bytes 16777216] [--timeout-ms 5000] [--chronyc HOST:PORT]
             [--log-level info] [--replay DIR] [--version] [--help]
Environment: CLOCKWATCH_<OPTION> (e.g. CLOCKWATCH_COLLECTOR, CLOCKWATCH_TOKEN_FILE, CLOCKWATCH_LABELS=k=v,k2=v2).
Precedence: flags > environment > config file (JSON) > defaults.`;

export type Raw = { value: unknown; where: string };

export interface LoadInput {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** os.platform(): defaults differ on Windows (spool under %ProgramData%). Default 'linux'. */
  platform?: string;
  readFile: (file: string) => string;
}

export type LoadResult = { kind: 'config'; config: AgentConfig } | { kind: 'help' } | { kind: 'version'; version: string };

const LABEL_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

function parseLabelPairs(text: string, where: string, into: Record<string, string>): void {
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const k = i > 0 ? part.slice(0, i) : '';
    if (!LABEL_KEY.test(k)) throw new ConfigError(where, `expected k=v with a key like "site" or "rack_1", got ${JSON.stringify(part)}`);
    const v = part.slice(i + 1);
    if (v.length > 256) throw new ConfigError(where, `label ${k} is longer than 256 characters`);
    into[k] = v;
  }
}

function hostPort(text: string, where: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(where, `expected HOST:PORT (e.g. 127.0.0.1:9107), got ${JSON.stringify(text)}`);
  return { host: (m[1] ?? m[2])!, port };
}

function num(raw: Raw, opt: string, min: number, max: number, integer: boolean, unit: string): number {
  const v = typeof raw.value === 'string' ? raw.value.trim() : raw.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new ConfigError(opt, `expected ${integer ? 'an integer' : 'a number'} of ${unit} from ${min} to ${max}, got ${JSON.stringify(raw.value)}`);
  }
  return n;
}

function bool(raw: Raw, opt: string): boolean {
  if (typeof raw.value === 'boolean') return raw.value;
  if (typeof raw.value === 'string' && /^(1|true|yes|on)$/i.test(raw.value)) return true;
  if (typeof raw.value === 'string' && /^(0|false|no|off)$/i.test(raw.value)) return false;
  throw new ConfigError(opt, `expected true or false, got ${JSON.stringify(raw.value)}`);
}

function str(raw: Raw, opt: string): string {
  if (typeof raw.value !== 'string' || raw.value.trim() === '') throw new ConfigError(opt, `expected a non-empty string, got ${JSON.stringify(raw.value)}`);
  return raw.value;
}

/**
 * The spool directory when none is configured: systemd's StateDirectory= sets $STATE_DIRECTORY (the
 * unit's spool lives there), else /var/lib/clockwatch-agent/spool; on Windows
 * %ProgramData%\clockwatch\spool (machine-wide application data, writable by services).
 */
export function defaultSpoolDir(platform: string, env: Record<string, string | undefined>, stateDir?: string): string {
  if (platform === 'win32') return `${(env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData').replace(/[\\/]+$/, '')}\\clockwatch\\spool`;
  return stateDir ? `${stateDir}/spool` : '/var/lib/clockwatch-agent/spool';
}

/** Parses argv (without node and script), env and the config file into a frozen config. */
export function loadConfig(input: LoadInput): LoadResult {
  const flags = new Map<string, Raw>();
  const flagLabels: string[] = [];
  let configFlag: string | null = null;
  let mode: AgentConfig['mode'] = 'loop';
  const argv = [...input.argv];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (a === '--help' || a === '-h') return { kind: 'help' };
    if (a === '--version') return { kind: 'version', version: AGENT_VERSION };
    if (a === '--print' || a === '--once') {
      const m = a === '--print' ? 'print' : 'once';
      if (mode !== 'loop' && mode !== m) throw new ConfigError(a, '--once and --print exclude each other');
      mode = m;
      continue;
    }
    if (a === '--hwclock' && inline === undefined) {
      flags.set('hwclock', { value: true, where: a });
      continue;
    }
    const def = OPTIONS.find((o) => o.flag === a);
    if (a !== '--config' && !def) throw new ConfigError(a, `unknown option (see --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new ConfigError(a, 'needs a value');
    if (a === '--config') configFlag = value;
    else if (def!.key === 'labels') flagLabels.push(value);
    else if (flags.has(def!.key)) throw new ConfigError(a, 'given twice');
    else flags.set(def!.key, { value, where: a });
  }
  if (flags.has('token') && flags.has('tokenFile')) throw new ConfigError('--token', '--token and --token-file exclude each other');

  const configFile = configFlag ?? input.env.CLOCKWATCH_CONFIG ?? null;
  const configWhere = configFlag !== null ? '--config' : 'CLOCKWATCH_CONFIG';
  let file: Record<string, unknown> = {};
  if (configFile !== null) {
    let text: string;
    try {
      text = input.readFile(configFile);
    } catch (err) {
      throw new ConfigError(configWhere, `cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(configWhere, `${configFile} is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new ConfigError(configWhere, `${configFile} must hold a JSON object`);
    for (const k of Object.keys(file)) {
      if (!OPTIONS.some((o) => o.file === k)) throw new ConfigError(`${k} (in ${configFile})`, 'unknown setting');
    }
  }

  /** The winning raw value of an option and where it came from. */
  const pick = (def: OptionDef): Raw | null => {
    const f = flags.get(def.key);
    if (f) return f;
    const e = def.env ? input.env[def.env] : undefined;
    if (e !== undefined && e !== '') return { value: e, where: def.env! };
    if (def.file && def.file in file) return { value: file[def.file], where: `${def.file} (in ${configFile})` };
    return null;
  };
  const get = (key: OptionDef['key']) => pick(OPTIONS.find((o) => o.key === key)!);

  const collectorRaw = get('collector');
  const collector = collectorRaw ? str(collectorRaw, collectorRaw.where) : 'http://127.0.0.1:7070';
  let url: URL;
  try {
    url = new URL(collector);
  } catch {
    throw new ConfigError(collectorRaw?.where ?? '--collector', `expected an http:// or https:// URL, got ${JSON.stringify(collector)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(collectorRaw?.where ?? '--collector', `expected an http:// or https:// URL, got ${JSON.stringify(collector)}`);

  // Token: the highest-precedence level that sets either decides (a flag --token beats CLOCKWATCH_TOKEN_FILE).
  const tRaw = get('token');
  const tfRaw = get('tokenFile');
  const rank = (r: Raw | null) => (r === null ? 9 : r.where.startsWith('--') ? 0 : r.where.startsWith('CLOCKWATCH_') ? 1 : 2);
  let token: string | null = null;
  let tokenFile: string | null = null;
  if (tRaw && rank(tRaw) <= rank(tfRaw)) {
    if (tfRaw && rank(tfRaw) === rank(tRaw)) throw new ConfigError(tRaw.where, `token and token file are both set in ${tRaw.where.startsWith('CLOCKWATCH_') ? 'the environment' : 'the config file'}`);
    token = str(tRaw, tRaw.where).trim();
  } else if (tfRaw) {
    tokenFile = str(tfRaw, tfRaw.where);
    let text: string;
    try {
      text = input.readFile(tokenFile);
    } catch (err) {
      throw new ConfigError(tfRaw.where, `cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    token = text.trim();
    if (!token) throw new ConfigError(tfRaw.where, `${tokenFile} is empty`);
  }
  if (token !== null && !/^[\x21-\x7e]{1,4096}$/.test(token)) throw new ConfigError(tRaw?.where ?? '--token', 'a token is printable ASCII without spaces');

  const labels: Record<string, string> = {};
  const labelDef = OPTIONS.find((o) => o.key === 'labels')!;
  if (flagLabels.length > 0) for (const l of flagLabels) parseLabelPairs(l, '--label', labels);
  else {
    const raw = pick(labelDef);
    if (raw && typeof raw.value === 'string') parseLabelPairs(raw.value, raw.where, labels);
    else if (raw && typeof raw.value === 'object' && raw.value !== null && !Array.isArray(raw.value)) {
      for (const [k, v] of Object.entries(raw.value)) parseLabelPairs(`${k}=${String(v)}`, raw.where, labels);
    } else if (raw) throw new ConfigError(raw.where, 'expected an object of label names to values');
  }
  if (Object.keys(labels).length > 32) throw new ConfigError('--label', 'at most 32 labels');

  const opt = <T>(key: OptionDef['key'], f: (r: Raw) => T, dflt: T): T => {
    const r = get(key);
    return r ? f(r) : dflt;
  };
  const idRaw = get('id');
  const id = idRaw ? str(idRaw, idRaw.where) : null;
  if (id !== null && !ID_RE.test(id)) throw new ConfigError(idRaw!.where, `expected letters, digits and . _ : @ - (max 128), got ${JSON.stringify(id)}`);
  const listenRaw = get('listen');
  const chronycRaw = get('chronyc');
  const logLevel = opt('logLevel', (r) => str(r, r.where), 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(get('logLevel')!.where, `expected debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  const stateDir = input.env.STATE_DIRECTORY?.split(':')[0];
  const defaultSpool = defaultSpoolDir(input.platform ?? 'linux', input.env, stateDir);

  const config: AgentConfig = {
    collector: url.toString().replace(/\/+$/, ''),
    token,
    tokenFile,
    intervalS: opt('intervalS', (r) => num(r, r.where, 1, 86_400, false, 'seconds'), 60),
    root: opt('root', (r) => str(r, r.where), '/'),
    // systemd's StateDirectory= sets $STATE_DIRECTORY; the unit's spool lives there.
    spoolDir: opt('spoolDir', (r) => str(r, r.where), defaultSpool),
    id,
    labels,
    configFile,
    mode,
    listen: listenRaw ? hostPort(str(listenRaw, listenRaw.where), listenRaw.where) : null,
    hwclock: opt('hwclock', (r) => bool(r, r.where), false),
    samples: opt('samples', (r) => num(r, r.where, 1, 32, true, 'samples'), 6),
    stepThresholdMs: opt('stepThresholdMs', (r) => num(r, r.where, 1, 3_600_000, false, 'ms'), 1000),
    spoolMaxReports: opt('spoolMaxReports', (r) => num(r, r.where, 1, 1_000_000, true, 'reports'), 1000),
    spoolMaxBytes: opt('spoolMaxBytes', (r) => num(r, r.where, 65_536, 1 << 30, true, 'bytes'), 16 * 1024 * 1024),
    timeoutMs: opt('timeoutMs', (r) => num(r, r.where, 100, 120_000, true, 'ms'), 5000),
    chronyc: chronycRaw ? hostPort(str(chronycRaw, chronycRaw.where), chronycRaw.where) : null,
    replayDir: opt('replayDir', (r) => str(r, r.where), null),
    logLevel: logLevel as AgentConfig['logLevel'],
  };
  return { kind: 'config', config: Object.freeze(config) };
}
