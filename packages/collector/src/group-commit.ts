/**
 * Group commit: every write submitted during one turn of the event loop goes into one store
 * transaction, flushed from setImmediate (the check phase, right after the poll phase in which the
 * requests' bodies arrived and their handlers ran). Each submitter's promise settles only after
 * that transaction committed.
 *
 * No fixed timer: a 5 ms window would cap throughput at connections ÷ 5 ms and add 5 ms to every
 * request; a turn-sized window costs nothing when idle and grows with load (while one flush is in
 * flight on an asynchronous store, arrivals queue up for the next).
 */
import type { SampleRecord, Store, WriteOutcome } from './store/types.js';

interface Pending {
  records: readonly SampleRecord[];
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (err: unknown) => void;
}

export interface FlushInfo {
  records: number;
  requests: number;
  durationMs: number;
  error?: unknown;
}

/** Submitted after close(): the collector is shutting down. */
export class CommitterClosedError extends Error {
  constructor() {
    super('the collector is shutting down');
    this.name = 'CommitterClosedError';
  }
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly onFlush?: (info: FlushInfo) => void,
  ) {}

  /** Queues records for the next group transaction; resolves with one outcome per record. */
  submit(records: readonly SampleRecord[]): Promise<WriteOutcome[]> {
    if (this.closed) return Promise.reject(new CommitterClosedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return this.inFlight ?? Promise.resolve();
    const batch = this.queue;
    this.queue = [];
    const all: SampleRecord[] = [];
    for (const p of batch) for (const r of p.records) all.push(r);
    const started = performance.now();
    this.inFlight = (async () => {
      try {
        const outcomes = await this.store.write(all);
        this.onFlush?.({ records: all.length, requests: batch.length, durationMs: performance.now() - started });
        let i = 0;
        for (const p of batch) {
          p.resolve(outcomes.slice(i, i + p.records.length));
          i += p.records.length;
        }
      } catch (err) {
        this.onFlush?.({ records: all.length, requests: batch.length, durationMs: performance.now() - started, error: err });
        for (const p of batch) p.reject(err);
      } finally {
        this.inFlight = null;
        if (this.queue.length > 0) this.schedule();
      }
    })();
    return this.inFlight;
  }

  /** Flushes what is queued, waits for it, and refuses further submissions. */
  async close(): Promise<void> {
    while (this.inFlight || this.queue.length > 0) {
      if (this.inFlight) await this.inFlight;
      else await this.flush();
    }
    this.closed = true;
  }
}
