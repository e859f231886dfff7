/**
 * The one answer of the time exchange (RFC 5905 §8 timestamps over HTTP), shared by the route on
 * the main listener and the dedicated time listener: the body check and the reply bytes. t3 is
 * read inside `answer()`, right before the payload is built, so nothing but the write follows it.
 */

/** Year 2100: a t1 beyond is not a clock, it is garbage. */
export const MAX_T1_MS = 4_102_444_800_000;

/** A request body is never larger than this (`{"t1":1764582000000.123}` is 25 bytes). */
export const TIME_BODY_LIMIT_BYTES = 1024;

/** Response header by which the main listener names the dedicated time listener's port. */
export const TIME_PORT_HEADER = 'clockwatch-time-port';

/** t1 from a parsed body, or null when the body is not {"t1": <ms since epoch>}. */
export function timeRequestT1(body: unknown): number | null {
  const t1 = body && typeof body === 'object' ? (body as { t1?: unknown }).t1 : undefined;
  if (typeof t1 !== 'number' || !Number.isFinite(t1) || t1 < 0 || t1 > MAX_T1_MS) return null;
  return t1;
}

/** The reply payload; `nowMs` is read last (t3). */
export function timeReplyPayload(t1: number, t2Ms: number, nowMs: () => number): string {
  const head = `{"t1":${t1},"t2":${t2Ms},"t3":`;
  const t3 = nowMs();
  return `${head}${t3}}`;
}
