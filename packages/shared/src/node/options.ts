/**
 * The one option parser both programs use: flags > environment (CLOCKWATCH_*) > config file
 * (JSON, --config) > defaults, with typed values. Flags are split by node:util parseArgs (tokens
 * mode, so `--flag=value`, `--`, and a boolean flag's `--json=false` work as they always did);
 * each spec's `parse` turns the text into its value, and the result's type follows the specs
 * (declare them with `defineOptions`), so no caller casts. A bad value stops the program with one
 * ConfigError line that names the option where it came from (`--retention-days`,
 * `CLOCKWATCH_RETENTION_DAYS`, or `retentionDays in FILE`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDuration } from '@clockwatch/shared';

/** The one configuration error of both programs: one line, naming the option and where it came from. */
export class ConfigError extends Error {
  /** The option (flag, variable, file key) the message is about, when it names one. */
  readonly option: string | null;
  constructor(message: string);
  constructor(option: string, message: string);
  constructor(a: string, b?: string) {
    super(b === undefined ? a : `${a}: ${b}`);
    this.name = 'ConfigError';
    this.option = b === undefined ? null : a;
  }
}

export interface OptionSpec<K extends string = string, T = unknown> {
  /** camelCase key in the result and in the config file. */
  key: K;
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

/** Keeps the literal types of a spec list, so parseOptions can type its values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function defineOptions<const S extends readonly OptionSpec<string, any>[]>(specs: S): S {
  return specs;
}

type ValueOf<P> = P extends { parse: (text: string) => infer T } ? (P extends { repeat: true } ? T[] : T) : never;
/** The values of a spec list: every key, its parsed type; present for sure when the spec has a default. */
export type OptionValues<S extends readonly OptionSpec<string, unknown>[]> = {
  [P in S[number] as P['key']]: P extends { default: unknown } ? ValueOf<P> : ValueOf<P> | undefined;
};

export const envName = (flag: string) => `CLOCKWATCH_${flag.toUpperCase().replace(/-/g, '_')}`;

export interface Parsed<V> {
  values: V;
  /** Where each value came from, for messages: '--db', 'CLOCKWATCH_DB', 'db in FILE', 'default'. */
  sources: Record<string, string>;
  positionals: string[];
}

function apply(spec: OptionSpec, text: string, where: string): unknown {
  try {
    return spec.parse(text);
  } catch (err) {
    throw new ConfigError(where, (err as Error).message);
  }
}

/** The flags of argv, by key, as texts (parseArgs tokens: `--a b`, `--a=b`, `--`). */
function flagTexts(specs: readonly OptionSpec[], argv: readonly string[]): { fromFlags: Map<string, { text: string[]; where: string }>; positionals: string[] } {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  // Every flag takes a value for parseArgs; booleans are told apart below (`--json` alone is true).
  const options = Object.fromEntries(specs.map((s) => [s.flag, { type: s.boolean ? ('boolean' as const) : ('string' as const), multiple: true }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const fromFlags = new Map<string, { text: string[]; where: string }>();
  const positionals: string[] = [];
  for (const tok of tokens) {
    if (tok.kind === 'positional') positionals.push(tok.value);
    if (tok.kind !== 'option') continue;
    const spec = byFlag.get(tok.name);
    if (!spec || !tok.rawName.startsWith('--')) throw new ConfigError(`unknown option ${tok.rawName} (see --help)`);
    let text: string;
    if (spec.boolean) text = tok.inlineValue ? (tok.value ?? 'true') : 'true';
    else if (typeof tok.value === 'string') text = tok.value;
    else throw new ConfigError(`--${spec.flag}`, `needs a value${spec.arg ? ` (${spec.arg})` : ''}`);
    const prev = fromFlags.get(spec.key);
    if (prev && !spec.repeat) throw new ConfigError(`--${spec.flag}`, 'given more than once');
    fromFlags.set(spec.key, { text: [...(prev?.text ?? []), text], where: `--${spec.flag}` });
  }
  return { fromFlags, positionals };
}

/**
 * @param configKey the key of the option naming the config file ('config'), if the command has one.
 */
export function parseOptions<const S extends readonly OptionSpec<string, unknown>[]>(
  specs: S,
  argv: readonly string[],
  env: Record<string, string | undefined>,
  configKey?: S[number]['key'],
): Parsed<OptionValues<S>> {
  const { fromFlags, positionals } = flagTexts(specs, argv);
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
  return { values: values as OptionValues<S>, sources, positionals };
}

function readConfigFile(file: string, where: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(where, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(where, `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(where, `${file} must hold a JSON object`);
  return v as Record<string, unknown>;
}

export function helpText(usage: string, specs: readonly OptionSpec<string, unknown>[]): string {
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

/** '24h', '90s', '7d', '500ms', '1h30m' → ms (the one duration parser, shared durations.ts). */
export const duration = (text: string): number => parseDuration(text);

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
