/**
 * Compact integer encodings of statuses for sample rows (one byte for the status, three bits per
 * check packed into one integer) and the content-hash key stores share.
 */
import type { AgentStatus, CheckStatus } from '@clockwatch/shared';
import { STORED_CHECKS, type StoredCheckId } from './types.js';

const STATUS_CODES: readonly AgentStatus[] = ['compliant', 'warning', 'noncompliant', 'stale', 'unknown'];
const CHECK_CODES: readonly (CheckStatus | null)[] = [null, 'pass', 'warn', 'unknown', 'fail'];

// Three bits a check through 32-bit shifts (and `flags` of a schema-6 sample puts them above bit 9
// of a double-safe integer): at most 10 stored checks. An 11th would overflow silently; fail at load.
if (STORED_CHECKS.length > 10) throw new Error(`${STORED_CHECKS.length} stored checks: the packed encoding holds 10 (codes.ts)`);

export function encodeStatus(s: AgentStatus): number {
  const i = STATUS_CODES.indexOf(s);
  if (i < 0) throw new Error(`unknown status ${s}`);
  return i;
}

export function decodeStatus(n: number): AgentStatus {
  return STATUS_CODES[n] ?? 'unknown';
}

export function encodeChecks(checks: Partial<Record<StoredCheckId, CheckStatus>>): number {
  let v = 0;
  STORED_CHECKS.forEach((id, i) => {
    const s = checks[id];
    const code = s === undefined ? 0 : CHECK_CODES.indexOf(s);
    v |= (code < 0 ? 0 : code) << (3 * i);
  });
  return v;
}

export function decodeChecks(v: number): Partial<Record<StoredCheckId, CheckStatus>> {
  const out: Partial<Record<StoredCheckId, CheckStatus>> = {};
  STORED_CHECKS.forEach((id, i) => {
    const s = CHECK_CODES[(v >> (3 * i)) & 7];
    if (s) out[id] = s;
  });
  return out;
}

/**
 * First 32 bits of a hex digest as a signed 32-bit integer: the top half of schema 6's 64-bit
 * content_hash (migration 7 keeps `content_hash >> 32`, an arithmetic shift).
 */
export function hexToInt32(hex: string): number {
  if (!/^[0-9a-f]{8,}$/i.test(hex)) throw new Error('content hash must be at least 8 hex digits');
  return Number.parseInt(hex.slice(0, 8), 16) | 0;
}
