/**
 * Report validation against schema v1, with stable codes. Unknown schema versions are refused with
 * their own code so an old collector tells a newer agent clearly what is wrong.
 */
import { Compile } from 'typebox/compile';
import { ErrorCodes } from './errors.js';
import { ReportSchema, SCHEMA_VERSION, type Report } from './schema/report.js';

const compiled = Compile(ReportSchema);

export interface ValidationIssue {
  path: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; report: Report }
  | { ok: false; code: string; message: string; issues: ValidationIssue[] };

const MAX_ISSUES = 10;

export function validateReport(value: unknown): ValidationResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCodes.VALIDATION, message: 'a report must be a JSON object', issues: [] };
  }
  const version = (value as { schemaVersion?: unknown }).schemaVersion;
  if (version !== SCHEMA_VERSION) {
    return {
      ok: false,
      code: ErrorCodes.SCHEMA_VERSION,
      message: `unsupported schemaVersion ${JSON.stringify(version) ?? 'undefined'}: this collector accepts ${SCHEMA_VERSION}`,
      issues: [{ path: '/schemaVersion', message: `must be ${SCHEMA_VERSION}` }],
    };
  }
  if (compiled.Check(value)) {
    const lone = loneSurrogatePath(value);
    if (lone === null) return { ok: true, report: value as Report };
    const message = 'holds a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its pair): it is not Unicode text and would not read back as sent';
    return { ok: false, code: ErrorCodes.VALIDATION, message: `report invalid at ${lone}: ${message}`, issues: [{ path: lone, message }] };
  }
  const issues: ValidationIssue[] = [];
  for (const e of compiled.Errors(value)) {
    // typebox reports the 'schema is false' twin of every additionalProperties error: keep one.
    if (e.keyword === 'boolean') continue;
    issues.push({ path: e.instancePath || '/', message: e.message });
    if (issues.length >= MAX_ISSUES) break;
  }
  const first = issues[0];
  return {
    ok: false,
    code: ErrorCodes.VALIDATION,
    message: first ? `report invalid at ${first.path}: ${first.message}` : 'report invalid',
    issues,
  };
}

/**
 * String.prototype.isWellFormed (ES2024; Node 20 has it, the es2022 lib types do not): false
 * exactly when the string holds a lone surrogate. Native, no regular expression per string.
 */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Any string or key with a lone surrogate, without building a path (every report is walked). */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !wellFormed(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasLoneSurrogate(value[i])) return true;
    return false;
  }
  for (const key in value) if (!wellFormed(key) || hasLoneSurrogate((value as Record<string, unknown>)[key])) return true;
  return false;
}

function lonePath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return wellFormed(value) ? null : path || '/';
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = lonePath(value[i], `${path}/${i}`);
      if (p !== null) return p;
    }
    return null;
  }
  for (const key in value) {
    const here = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!wellFormed(key)) return here;
    const p = lonePath((value as Record<string, unknown>)[key], here);
    if (p !== null) return p;
  }
  return null;
}

/**
 * JSON pointer (RFC 6901) of the first string or key that holds a lone surrogate, null when there
 * is none. JSON text can carry one as an escape (`"\ud800"`); SQLite stores text as UTF-8, which
 * has no form for it, so such a hostname would be kept as three other bytes and read back as
 * U+FFFD U+FFFD U+FFFD: evidence that differs from what the agent sent. Refused instead. The
 * walk that finds none builds no path (the pointer is made only for a report that has one).
 */
export function loneSurrogatePath(value: unknown): string | null {
  return hasLoneSurrogate(value) ? lonePath(value, '') : null;
}

/** True for finite numbers only (JSON has no NaN, but a JS caller might pass one). */
export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
