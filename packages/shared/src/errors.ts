/**
 * One catalog of stable error codes for the whole product. Codes never change meaning; messages may.
 * Readers turn failures into data (`{ error: { code, message } }`), the collector turns them into
 * HTTP errors `{ statusCode, code, error, message }`.
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
