/**
 * Codes the agent itself reports (on stdout for --once, from the pull endpoint), taken from the
 * one product catalog (ErrorCodes of @clockwatch/shared): one code, one meaning — a missing route
 * is CW_ERR_ROUTE_NOT_FOUND as on the collector, never the readers' CW_ERR_NOT_FOUND (a missing file).
 */
import { ErrorCodes } from '@clockwatch/shared';

export const AgentErrorCodes = {
  AUTH: ErrorCodes.AUTH,
  UNDELIVERED: ErrorCodes.UNDELIVERED,
  REJECTED: ErrorCodes.REJECTED,
  ROUTE: ErrorCodes.ROUTE_NOT_FOUND,
  METHOD: ErrorCodes.METHOD_NOT_ALLOWED,
  COLLECT: ErrorCodes.COLLECT,
} as const;
