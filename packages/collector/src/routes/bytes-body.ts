/**
 * A response body sent from kept Buffers, in order, without joining them into one: the fleet view
 * (each row's cached JSON, store/sqlite-fleet-rows.ts) and /metrics (each run's encoded lines,
 * metrics-agents.ts).
 *
 * It is a Readable of slabs of SLAB_BYTES, each filled with the next pieces when the socket asks
 * for more (fastify pipes a stream payload into the response, with backpressure): the first bytes
 * leave at once, and no Buffer the size of the page (4.6 MiB for 10,000 agents' fleet view,
 * 13 MiB for their /metrics) is allocated and faulted in per request. Pieces are copied with
 * Uint8Array#set, a few times faster than Buffer#copy per small piece on Node 20. The length is
 * known before the first byte: routes send it as Content-Length, so the framing is as for one
 * Buffer (no chunked encoding). A client that goes away mid-body makes fastify destroy the
 * stream; nothing else holds on to it.
 */
import { Readable } from 'node:stream';

/**
 * 256 KiB: the first slab is filled in ~0.1 ms, and a 4.6 MiB page is ~19 turns of the event loop
 * (per turn: one write to the socket, a wait for it to drain). Server CPU per page of 10,000
 * agents, the three sizes alternated in one process (contended machine, one run): 64 KiB 8.8 ms,
 * 256 KiB 7.5 ms, 1 MiB 9.0 ms.
 */
const SLAB_BYTES = 262_144;
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

export class BytesBody extends Readable {
  /** Bytes of the whole body. */
  readonly byteLength: number;
  /** Next part to copy, and how far into it the last slab got. */
  private part = 0;
  private partAt = 0;
  private left: number;

  /** `parts` are not copied and must not change until the body is sent. */
  constructor(private readonly parts: readonly Buffer[]) {
    super();
    let length = 0;
    for (const x of parts) length += x.length;
    this.byteLength = length;
    this.left = length;
  }

  override _read(): void {
    for (;;) {
      if (this.left === 0) {
        this.push(null);
        return;
      }
      if (!this.push(this.fill())) return;
    }
  }

  /** The next slab: as many bytes of the next parts as fit. */
  private fill(): Buffer {
    const out = Buffer.allocUnsafe(Math.min(SLAB_BYTES, this.left));
    let at = 0;
    while (at < out.length) {
      const part = this.parts[this.part] as Buffer;
      const n = Math.min(part.length - this.partAt, out.length - at);
      // Every byte of `out` is written here before it is pushed.
      out.set(this.partAt === 0 && n === part.length ? part : part.subarray(this.partAt, this.partAt + n), at);
      at += n;
      this.partAt += n;
      if (this.partAt === part.length) {
        this.part++;
        this.partAt = 0;
      }
    }
    this.left -= out.length;
    return out;
  }
}
