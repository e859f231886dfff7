/**
 * The dedicated time listener: POST /v1/time served from its own worker thread on its own port
 * (time-worker.ts), so that the exchange's stated uncertainty does not grow with ingest load.
 *
 * Why a second port: Node 20 cannot share one listening socket between threads, and a request
 * the main loop has to read first has already waited behind whatever the loop was doing. The
 * main listener keeps answering POST /v1/time (agents that know nothing of this, a reverse
 * proxy that forwards one port) and names this port in a `clockwatch-time-port` header; the
 * agent then takes its samples here, and falls back to the main URL when it cannot connect.
 */
import { Worker } from 'node:worker_threads';
import type { TimeWorkerData } from './time-worker.js';

export interface TimeServiceOptions {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  tls?: { cert: Buffer | string; key: Buffer | string } | null;
  keepAliveTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface TimeService {
  readonly port: number;
  /** Exchanges answered 200 so far. */
  answered(): number;
  /** Requests refused (bad body, wrong route) so far. */
  refused(): number;
  close(): Promise<void>;
}

export class TimeListenError extends Error {
  constructor(
    readonly code: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'TimeListenError';
  }
}

const bytes = (x: Buffer | string): Uint8Array => (typeof x === 'string' ? new Uint8Array(Buffer.from(x)) : new Uint8Array(x));

export async function startTimeService(o: TimeServiceOptions): Promise<TimeService> {
  const counters = new SharedArrayBuffer(8);
  const view = new Int32Array(counters);
  const data: TimeWorkerData = {
    host: o.host,
    port: o.port,
    tls: o.tls ? { cert: bytes(o.tls.cert), key: bytes(o.tls.key) } : null,
    counters,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 65_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
  };
  const worker = new Worker(new URL('./time-worker.js', import.meta.url), { workerData: data });
  // The main listener is what keeps the process alive; close() ends this one.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (m: { kind: string; port?: number; code?: string | null; message?: string }) => {
      if (m.kind === 'listening') resolve(m.port as number);
      else if (m.kind === 'error') reject(new TimeListenError(m.code ?? null, m.message ?? 'the time listener failed'));
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => reject(new TimeListenError(null, err.message)));
    worker.once('exit', (code) => reject(new TimeListenError(null, `the time listener's thread exited (${code})`)));
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  let closing: Promise<void> | null = null;
  return {
    port,
    answered: () => Atomics.load(view, 0),
    refused: () => Atomics.load(view, 1),
    close() {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => worker.on('message', (m: { kind: string }) => m.kind === 'closed' && resolve()));
        worker.postMessage('stop');
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await Promise.race([done, exited]);
        clearTimeout(timer);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
