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
  if (compiled.Check(value)) return { ok: true, report: value as Report };
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

/** True for finite numbers only (JSON has no NaN, but a JS caller might pass one). */
export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
