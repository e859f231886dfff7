/**
 * The collector's error catalog. Every error a client can see has a stable `code` (CW_ERR_*) and is
 * serialised as `{ statusCode, code, error, message }`. Codes never change meaning; messages may.
 * fastify's own errors (bad JSON, content type, body size, schema validation, bad URL) are mapped
 * into this catalog by `toApiError`, so no malformed request ever surfaces as a 5xx or as an
 * FST_ERR_* code.
 *
 * The codes themselves are the product catalog's (ErrorCodes of @clockwatch/shared); this file adds
 * only the HTTP status and default message of each.
 */
import { STATUS_CODES } from 'node:http';
import { ErrorCodes } from '@clockwatch/shared';

interface CatalogEntry {
  statusCode: number;
  /** Default message; most throw sites pass a more specific one. */
  message: string;
}

export const Errors = {
  // request shape
  BAD_JSON: { statusCode: 400, message: 'the body is not valid JSON' },
  EMPTY_BODY: { statusCode: 400, message: 'the body is empty' },
  VALIDATION: { statusCode: 400, message: 'the body does not match the schema' },
  SCHEMA_VERSION: { statusCode: 400, message: 'unsupported report schemaVersion' },
  BAD_PARAM: { statusCode: 400, message: 'a query or path parameter is invalid' },
  BAD_REQUEST: { statusCode: 400, message: 'malformed request' },
  CONTENT_TYPE: { statusCode: 415, message: 'send Content-Type: application/json' },
  CHARSET: { statusCode: 415, message: 'send the body as UTF-8 (no charset, or charset=utf-8)' },
  BODY_TOO_LARGE: { statusCode: 413, message: 'the body is larger than the limit' },
  BATCH_TOO_LARGE: { statusCode: 413, message: 'too many reports in one request' },
  REQUEST_TIMEOUT: { statusCode: 408, message: 'the request did not arrive within the request timeout' },
  // auth
  TOKEN_MISSING: { statusCode: 401, message: 'this endpoint needs Authorization: Bearer <token>' },
  TOKEN_INVALID: { statusCode: 401, message: 'the token is not known to this collector' },
  FORBIDDEN: { statusCode: 403, message: 'the token is not allowed to report for this agent' },
  NOT_LOOPBACK: { statusCode: 403, message: 'without --tokens this collector accepts reports from loopback addresses only' },
  AGENT_BOUND: { statusCode: 403, message: 'this agent id belongs to the token that first reported for it' },
  ADMIN_REQUIRED: { statusCode: 403, message: 'running an export needs a token from --admin-tokens (without --admin-tokens: a loopback client)' },
  // ingest
  REPORT_CONFLICT: { statusCode: 409, message: 'a different report with this reportId is already stored' },
  RATE_LIMITED: { statusCode: 429, message: 'too many requests for this agent' },
  // lookups
  AGENT_NOT_FOUND: { statusCode: 404, message: 'no such agent' },
  ROUTE_NOT_FOUND: { statusCode: 404, message: 'no such route' },
  RUNBOOK_NOT_FOUND: { statusCode: 404, message: 'no runbook for that check' },
  // exports and the libvirt audit
  EXPORTS_NOT_CONFIGURED: { statusCode: 404, message: 'exports are not configured on this collector (start it with --export-dir DIR)' },
  EXPORT_NOT_FOUND: { statusCode: 404, message: 'no export file of that name' },
  EXPORT_IN_PROGRESS: { statusCode: 409, message: 'an export is running; ask again when it is done' },
  EXPORT_FAILED: { statusCode: 500, message: 'the export could not be written' },
  LIBVIRT_NOT_CONFIGURED: { statusCode: 404, message: 'the libvirt audit is not configured on this collector (start it with --libvirt-xml-dir DIR or --libvirt-uri URI)' },
  // server side
  STORE: { statusCode: 503, message: 'the store could not commit' },
  DB_GONE: { statusCode: 503, message: 'the database file was deleted or replaced while the collector had it open; nothing is acknowledged until it is restarted' },
  SHUTTING_DOWN: { statusCode: 503, message: 'the collector is shutting down' },
  INTERNAL: { statusCode: 500, message: 'internal error' },
} as const satisfies Partial<Record<keyof typeof ErrorCodes, CatalogEntry>>;

export type ErrorName = keyof typeof Errors;

/** The stable code of a catalog entry: the product catalog's (shared errors.ts), one meaning per code. */
export function codeOf(name: ErrorName): string {
  return ErrorCodes[name];
}

/** Every code this collector can answer with (for docs and tests). */
export const ERROR_CODES: readonly string[] = Object.keys(Errors).map((k) => codeOf(k as ErrorName));

export interface ApiErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** An error that becomes an HTTP response with a stable code. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;
  /** Already counted in the rejected-reports metric (a report-level rejection of a one-report request). */
  counted = false;
  constructor(name: ErrorName, message?: string, headers: Record<string, string> = {}) {
    const entry: CatalogEntry = Errors[name];
    super(message ?? entry.message);
    this.name = 'HttpError';
    this.statusCode = entry.statusCode;
    this.code = codeOf(name);
    this.headers = headers;
  }

  /** An error with a code that comes from elsewhere (the shared validator). */
  static withCode(statusCode: number, code: string, message: string): HttpError {
    const e = new HttpError('BAD_REQUEST', message);
    Object.defineProperty(e, 'statusCode', { value: statusCode });
    Object.defineProperty(e, 'code', { value: code });
    return e;
  }
}

export function errorBody(statusCode: number, code: string, message: string): ApiErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: { instancePath?: string; message?: string }[];
  validationContext?: string;
}

const FASTIFY_CODES: Record<string, ErrorName> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CONTENT_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
  FST_ERR_INVALID_URL: 'BAD_REQUEST',
};

/**
 * Maps anything thrown while handling a request to the catalog. Known client errors keep their
 * 4xx; anything unknown is a 500 with CW_ERR_INTERNAL and a message that leaks nothing.
 */
export function toApiError(err: unknown): ApiErrorBody & { headers: Record<string, string>; internal: boolean; counted: boolean } {
  if (err instanceof HttpError) {
    return { ...errorBody(err.statusCode, err.code, err.message), headers: err.headers, internal: false, counted: err.counted };
  }
  return { ...mapForeign(err), counted: false };
}

function mapForeign(err: unknown): ApiErrorBody & { headers: Record<string, string>; internal: boolean } {
  const e = (err ?? {}) as FastifyLikeError;
  if (e.validation) {
    const first = e.validation[0];
    const part = e.validationContext ?? 'request';
    const where = first?.instancePath ? `${part}${first.instancePath}` : part;
    const name: ErrorName = part === 'body' ? 'VALIDATION' : 'BAD_PARAM';
    const msg = `${where}: ${first?.message ?? 'invalid'}`;
    return { ...errorBody(400, codeOf(name), msg), headers: {}, internal: false };
  }
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) {
    const entry = Errors[mapped];
    return { ...errorBody(entry.statusCode, codeOf(mapped), e.message || entry.message), headers: {}, internal: false };
  }
  // JSON.parse errors from a content-type parser (fastify marks them 400) and any other 4xx
  // fastify raised: keep the status, give it a catalog code.
  if (err instanceof SyntaxError) {
    return { ...errorBody(400, codeOf('BAD_JSON'), `the body is not valid JSON: ${err.message}`), headers: {}, internal: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { ...errorBody(e.statusCode, codeOf('BAD_REQUEST'), e.message || 'bad request'), headers: {}, internal: false };
  }
  return { ...errorBody(500, codeOf('INTERNAL'), Errors.INTERNAL.message), headers: {}, internal: true };
}
