/**
 * Command-line options with one precedence everywhere: flags > environment (CLOCKWATCH_*) >
 * config file (JSON, --config) > defaults. A bad value stops the program with one line that names
 * the option where it came from (`--retention-days`, `CLOCKWATCH_RETENTION_DAYS`, or
 * `retentionDays in FILE`).
 */
import { readFileSync } from 'node:fs';
import { parseDuration } from '@clockwatch/shared';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface OptionSpec<T = unknown> {
  /** camelCase key in the result and in the config file. */
  key: string;
  /** --kebab-case flag (without the dashes it is the env suffix: CLOCKWATCH_KEBAB_CASE). */
  flag: string;
  /** Value shown in --help. */
  arg?: string;
  help: string;
  default?: T;
  /** Parses the text form; throws Error with a message saying what is expected. */
  parse: (text: string) => T;
  /** A flag that takes no value (its presence means true). */
  boolean?: boolean;
  /** May be given several times (values collected in order). */
  repeat?: boolean;
}

export const envName = (flag: string) => `CLOCKWATCH_${flag.toUpperCase().replace(/-/g, '_')}`;

export interface Parsed {
  values: Record<string, unknown>;
  /** Where each value came from, for messages: '--db', 'CLOCKWATCH_DB', 'db in FILE', 'default'. */
  sources: Record<string, string>;
  positionals: string[];
}

function apply(spec: OptionSpec, text: string, where: string): unknown {
  try {
    return spec.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`);
  }
}

/**
 * @param configKey the key of the option naming the config file ('config'), if the command has one.
 */
export function parseOptions(specs: readonly OptionSpec[], argv: readonly string[], env: Record<string, string | undefined>, configKey?: string): Parsed {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const fromFlags = new Map<string, { text: string[]; where: string }>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byFlag.get(name);
    if (!spec) throw new ConfigError(`unknown option --${name} (see --help)`);
    let text: string;
    if (spec.boolean) {
      text = eq < 0 ? 'true' : arg.slice(eq + 1);
    } else if (eq >= 0) {
      text = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name}: needs a value${spec.arg ? ` (${spec.arg})` : ''}`);
      text = next;
      i++;
    }
    const prev = fromFlags.get(spec.key);
    if (prev && !spec.repeat) throw new ConfigError(`--${name}: given more than once`);
    fromFlags.set(spec.key, { text: [...(prev?.text ?? []), text], where: `--${name}` });
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const take = (spec: OptionSpec, texts: string[], where: string) => {
    values[spec.key] = spec.repeat ? texts.map((t) => apply(spec, t, where)) : apply(spec, texts[0] as string, where);
    sources[spec.key] = where;
  };

  // The config file's own location follows the same precedence (flag, then env).
  let file: Record<string, unknown> = {};
  let fileName = '';
  if (configKey) {
    const spec = specs.find((s) => s.key === configKey);
    if (spec) {
      const f = fromFlags.get(configKey)?.text[0] ?? env[envName(spec.flag)];
      if (f) {
        fileName = f;
        file = readConfigFile(f, fromFlags.has(configKey) ? `--${spec.flag}` : envName(spec.flag));
        const known = new Set(specs.flatMap((s) => [s.key, s.flag]));
        for (const k of Object.keys(file)) if (!known.has(k) || k === configKey) throw new ConfigError(`${fileName}: unknown option '${k}'`);
      }
    }
  }

  for (const spec of specs) {
    const flag = fromFlags.get(spec.key);
    if (flag) {
      take(spec, flag.text, flag.where);
      continue;
    }
    const e = env[envName(spec.flag)];
    if (e !== undefined && e !== '') {
      take(spec, spec.repeat ? e.split(',') : [e], envName(spec.flag));
      continue;
    }
    const fv = file[spec.key] ?? file[spec.flag];
    if (fv !== undefined && fv !== null && spec.key !== configKey) {
      const texts = Array.isArray(fv) ? fv.map(String) : [String(fv)];
      take(spec, texts, `${spec.key} in ${fileName}`);
      continue;
    }
    if (spec.default !== undefined) {
      values[spec.key] = spec.default;
      sources[spec.key] = 'default';
    }
  }
  return { values, sources, positionals };
}

function readConfigFile(file: string, where: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${where}: ${file} must hold a JSON object`);
  return v as Record<string, unknown>;
}

export function helpText(usage: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.flag}${s.boolean ? '' : ` ${s.arg ?? 'VALUE'}`}`;
    const def = s.default !== undefined && s.default !== null && !s.boolean ? ` (default ${JSON.stringify(s.default)})` : '';
    return `${left.padEnd(34)} ${s.help}${def}  [${envName(s.flag)}]`;
  });
  return `${usage}\n\n${rows.join('\n')}\n`;
}

// ---- value parsers: each throws with what it expected ----

export function positiveNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got '${text}'`);
  return n;
}

export function nonNegativeInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new Error(`expected a whole number ≥ 0, got '${text}'`);
  return n;
}

/** '24h', '90s', '7d', '500ms', '1h30m' → ms (the shared parser). */
export const duration = parseDuration;

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };

/** '4MiB', '512k', '1048576' → bytes. */
export function byteSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) throw new Error(`expected a size such as 4MiB, 512KiB or 1048576, got '${text}'`);
  return Math.floor(Number(m[1]) * unit);
}

export function oneOf<T extends string>(...allowed: T[]) {
  return (text: string): T => {
    if (!(allowed as string[]).includes(text)) throw new Error(`expected one of ${allowed.join(', ')}, got '${text}'`);
    return text as T;
  };
}

export function nonEmpty(text: string): string {
  if (text.trim() === '') throw new Error('must not be empty');
  return text;
}

export function bool(text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new Error(`expected true or false, got '${text}'`);
}

/** 'HOST:PORT', '[v6]:PORT' or ':PORT' (all interfaces). */
export function listenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`expected HOST:PORT (e.g. 127.0.0.1:7070, [::1]:7070, :7070), got '${text}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
