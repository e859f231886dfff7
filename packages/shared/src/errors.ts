/**
 * The one catalog of stable error codes for the whole product: one code, one meaning, whichever
 * program produces it. Codes never change meaning; messages may. Readers turn failures into data
 * (`{ error: { code, message } }`), the agent names delivery outcomes with its codes, the collector
 * turns request failures into HTTP errors `{ statusCode, code, error, message }` (its catalog,
 * collector/src/errors.ts, adds the HTTP status of each of its codes and nothing else).
 */
export const ErrorCodes = {
  // report / schema
  SCHEMA_VERSION: 'CW_ERR_SCHEMA_VERSION',
  VALIDATION: 'CW_ERR_VALIDATION',
  BAD_JSON: 'CW_ERR_BAD_JSON',
  // policy
  POLICY_INVALID: 'CW_ERR_POLICY_INVALID',
  // config
  CONFIG_INVALID: 'CW_ERR_CONFIG_INVALID',
  // readers (agent side, reported as data)
  NOT_FOUND: 'CW_ERR_NOT_FOUND',
  PERMISSION: 'CW_ERR_PERMISSION',
  PARSE: 'CW_ERR_PARSE',
  READ: 'CW_ERR_READ',
  RTC_ABSENT: 'CW_ERR_RTC_ABSENT',
  RTC_INVALID: 'CW_ERR_RTC_INVALID',
  /** Windows: the RTC cannot be read without a kernel driver (the mode still can). */
  RTC_UNREADABLE: 'CW_ERR_RTC_UNREADABLE',
  COMMAND_FAILED: 'CW_ERR_COMMAND_FAILED',
  COMMAND_TIMEOUT: 'CW_ERR_COMMAND_TIMEOUT',
  DAEMON_DOWN: 'CW_ERR_DAEMON_DOWN',
  UNSUPPORTED: 'CW_ERR_UNSUPPORTED',
  PROBE_SKIPPED: 'CW_ERR_PROBE_SKIPPED',
  PROBE_FAILED: 'CW_ERR_PROBE_FAILED',

  // agent: delivery outcomes (stdout of --once) and its pull endpoint
  /** The collector refused the token (401/403): the report stays in the spool. */
  AUTH: 'CW_ERR_AUTH',
  /** Not acknowledged yet (collector unreachable, 5xx, 429): the report stays in the spool. */
  UNDELIVERED: 'CW_ERR_UNDELIVERED',
  /** The collector refused the report for good (4xx): dropped and counted. */
  REJECTED: 'CW_ERR_REJECTED',
  /** Pull endpoint: only GET/HEAD. */
  METHOD_NOT_ALLOWED: 'CW_ERR_METHOD_NOT_ALLOWED',
  /** Pull endpoint: collecting the report failed. */
  COLLECT: 'CW_ERR_COLLECT',

  // collector: request failures (HTTP)
  EMPTY_BODY: 'CW_ERR_EMPTY_BODY',
  BAD_PARAM: 'CW_ERR_BAD_PARAM',
  BAD_REQUEST: 'CW_ERR_BAD_REQUEST',
  CONTENT_TYPE: 'CW_ERR_CONTENT_TYPE',
  BODY_TOO_LARGE: 'CW_ERR_BODY_TOO_LARGE',
  BATCH_TOO_LARGE: 'CW_ERR_BATCH_TOO_LARGE',
  REQUEST_TIMEOUT: 'CW_ERR_REQUEST_TIMEOUT',
  TOKEN_MISSING: 'CW_ERR_TOKEN_MISSING',
  TOKEN_INVALID: 'CW_ERR_TOKEN_INVALID',
  FORBIDDEN: 'CW_ERR_FORBIDDEN',
  NOT_LOOPBACK: 'CW_ERR_NOT_LOOPBACK',
  REPORT_CONFLICT: 'CW_ERR_REPORT_CONFLICT',
  RATE_LIMITED: 'CW_ERR_RATE_LIMITED',
  AGENT_NOT_FOUND: 'CW_ERR_AGENT_NOT_FOUND',
  /** No such route (the collector's API and the agent's pull endpoint); a missing file is NOT_FOUND. */
  ROUTE_NOT_FOUND: 'CW_ERR_ROUTE_NOT_FOUND',
  RUNBOOK_NOT_FOUND: 'CW_ERR_RUNBOOK_NOT_FOUND',
  CHARSET: 'CW_ERR_CHARSET',
  AGENT_BOUND: 'CW_ERR_AGENT_BOUND',
  ADMIN_REQUIRED: 'CW_ERR_ADMIN_REQUIRED',
  DB_GONE: 'CW_ERR_DB_GONE',
  EXPORTS_NOT_CONFIGURED: 'CW_ERR_EXPORTS_NOT_CONFIGURED',
  EXPORT_NOT_FOUND: 'CW_ERR_EXPORT_NOT_FOUND',
  EXPORT_IN_PROGRESS: 'CW_ERR_EXPORT_IN_PROGRESS',
  EXPORT_FAILED: 'CW_ERR_EXPORT_FAILED',
  LIBVIRT_NOT_CONFIGURED: 'CW_ERR_LIBVIRT_NOT_CONFIGURED',
  STORE: 'CW_ERR_STORE',
  SHUTTING_DOWN: 'CW_ERR_SHUTTING_DOWN',
  INTERNAL: 'CW_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error that carries a stable code; `details` is safe to show to a client. */
export class ClockwatchError extends Error {
  readonly code: string;
  readonly details: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ClockwatchError';
    this.code = code;
    this.details = details;
  }
}
