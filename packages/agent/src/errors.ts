/**
 * Codes the agent itself reports (on stdout for --once, from the pull endpoint). Reader failures
 * use the product catalog (ErrorCodes of @clockwatch/shared); these name delivery outcomes.
 */
export const AgentErrorCodes = {
  /** The collector refused the token (401/403): the report stays in the spool. */
  AUTH: 'CW_ERR_AUTH',
  /** Not acknowledged yet (collector unreachable, 5xx, 429): the report stays in the spool. */
  UNDELIVERED: 'CW_ERR_UNDELIVERED',
  /** The collector refused the report for good (4xx): dropped and counted. */
  REJECTED: 'CW_ERR_REJECTED',
  /** Pull endpoint: no such route / method. */
  ROUTE: 'CW_ERR_NOT_FOUND',
  METHOD: 'CW_ERR_METHOD_NOT_ALLOWED',
  /** Pull endpoint: collecting the report failed. */
  COLLECT: 'CW_ERR_COLLECT',
} as const;
