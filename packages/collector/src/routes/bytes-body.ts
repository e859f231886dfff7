/**
 * A response body from kept Buffers, in order: the fleet view (each row's cached JSON,
 * store/sqlite-fleet-rows.ts) and /metrics (each run's encoded lines, metrics-agents.ts), joined
 * into one Buffer with Uint8Array#set — a few times faster than Buffer#copy (and so Buffer.concat)
 * per small piece on Node 20: 10,000 rows of ~470 B in 0.9–1.5 ms against 3–5 ms.
 *
 * One Buffer rather than a stream of slabs: measured on the real collector at 10,000 agents
 * (4.6 MiB, the two alternated in one process, contended machine), a Readable of 256 KiB slabs
 * cost 4.3 ms of server CPU per request against 3.3 ms for one Buffer, for the same wall time
 * (10.5 ms): each slab waits for the socket to drain and for the event loop to run again to fill
 * the next, where libuv writes one Buffer out by itself. For /metrics (13 MiB): 17 ms against
 * 15 ms of CPU per scrape, 44 against 41 ms wall.
 */

const COMMA = Buffer.from(',');

/**
 * The pieces of `${head}${JSON.stringify(items)}${tail}`, where each item is the UTF-8 of
 * JSON.stringify of one element: JSON.stringify of an array without indentation is '[', its
 * elements' texts joined by ',', ']' (ECMA-262 SerializeJSONArray).
 */
export function jsonArrayPieces(head: string, items: readonly Buffer[], tail: string): Buffer[] {
  const parts: Buffer[] = new Array(Math.max(0, 2 * items.length - 1) + 2);
  parts[0] = Buffer.from(`${head}[`);
  let n = 1;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) parts[n++] = COMMA;
    parts[n++] = items[i] as Buffer;
  }
  parts[n] = Buffer.from(`]${tail}`);
  return parts;
}

/** The pieces one after the other in one Buffer. */
export function joinBytes(parts: readonly Buffer[]): Buffer {
  let length = 0;
  for (const x of parts) length += x.length;
  // Every byte is written below.
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}
