/**
 * WAL checkpoints on a worker thread, so that copying the WAL into the database file (and its
 * fsyncs) does not run inside a commit on the event loop. With SQLite's automatic checkpoint alone,
 * the commit that crosses the threshold copies every page of the WAL before its requests are
 * answered: one commit in a few dozen held for 10–50 ms, which is the ingest p99 (bench/README.md).
 *
 * The worker has its own connection and runs PASSIVE checkpoints back to back (a pause of
 * `everyMs` between them): they copy what is committed, never block the writer, and never wait for
 * it (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html). A PASSIVE checkpoint cannot restart the
 * WAL while the writer keeps appending, so the writer keeps its automatic checkpoint as the
 * restart point: when it fires, nearly everything is already copied and it has little left to do.
 * Durability is unchanged: a checkpoint only copies committed pages (and fsyncs as the writer's
 * synchronous setting says); a process killed mid-checkpoint leaves a WAL SQLite recovers from.
 */
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  path: string;
  /** The writer's setting; the checkpoint's fsyncs follow it. */
  synchronous: 'NORMAL' | 'FULL';
  /** Pause between two checkpoints, ms. */
  everyMs?: number;
  onError?: (err: Error) => void;
}

export class BackgroundCheckpointer {
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly options: CheckpointerOptions) {}

  get running(): boolean {
    return this.worker !== null;
  }

  start(): void {
    if (this.worker) return;
    const w = new Worker(new URL('./sqlite-checkpoint-worker.js', import.meta.url), {
      workerData: { path: this.options.path, synchronous: this.options.synchronous, everyMs: this.options.everyMs ?? 50 },
    });
    // Never what keeps the process alive; stop() ends it.
    w.unref();
    this.exited = new Promise((resolve) => w.once('exit', () => resolve()));
    w.on('message', (m: { error?: string }) => {
      if (m.error) this.options.onError?.(new Error(`background checkpoint: ${m.error}`));
    });
    w.on('error', (err) => {
      this.worker = null;
      this.options.onError?.(err);
    });
    w.once('exit', () => {
      if (this.worker === w) this.worker = null;
    });
    this.worker = w;
  }

  /** Ends the worker after its checkpoint in progress (if any); the writer's own checkpoints go on. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return this.exited;
    this.worker = null;
    w.postMessage('stop');
    const timer = setTimeout(() => void w.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
