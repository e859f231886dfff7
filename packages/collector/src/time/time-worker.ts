/**
 * Worker thread entry of the dedicated time listener (time-service.ts): a bare node:http(s)
 * server that answers POST /v1/time and nothing else. It shares nothing with the ingest path but
 * the process: while the main event loop parses, validates and commits batches of reports, this
 * thread's loop is idle, so t2 is read as soon as the request's headers are parsed and the round
 * trip the agent measures holds no queueing behind reports (issue 12 item 2; domain.md §6.2: the
 * uncertainty bound is half the round trip minus the server's hold time, and a wait before t2 is
 * indistinguishable from network delay).
 *
 * Its own sub-ms wall clock (the same AnchoredWallClock the main thread uses) is anchored in this
 * thread. Requests served are counted in a SharedArrayBuffer the main thread reads for /metrics.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import { AnchoredWallClock } from '@clockwatch/shared/node';
import { TIME_BODY_LIMIT_BYTES, timeReplyPayload, timeRequestT1 } from './time-exchange.js';

export interface TimeWorkerData {
  host: string;
  port: number;
  tls: { cert: Uint8Array; key: Uint8Array } | null;
  /** Int32 counters: [0] requests answered 200, [1] refused. */
  counters: SharedArrayBuffer;
  keepAliveTimeoutMs: number;
  requestTimeoutMs: number;
}

const data = workerData as TimeWorkerData;
const counters = new Int32Array(data.counters);
const clock = new AnchoredWallClock();

function refuse(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  Atomics.add(counters, 1, 1);
  const body = JSON.stringify({ statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  // t2: the first code that runs for this request, right after its headers are parsed.
  const t2 = clock.now();
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/v1/time') {
    req.resume();
    refuse(res, 404, 'CW_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${path} on the time listener (it answers POST /v1/time only)`);
    return;
  }
  if (req.method !== 'POST') {
    req.resume();
    refuse(res, 405, 'CW_ERR_ROUTE_NOT_FOUND', `the time listener answers POST /v1/time, not ${req.method}`, { allow: 'POST' });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > TIME_BODY_LIMIT_BYTES) tooLarge = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (tooLarge) {
      refuse(res, 413, 'CW_ERR_BODY_TOO_LARGE', `the body exceeds ${TIME_BODY_LIMIT_BYTES} bytes`);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      refuse(res, 400, 'CW_ERR_BAD_JSON', 'the body is not JSON');
      return;
    }
    const t1 = timeRequestT1(body);
    if (t1 === null) {
      refuse(res, 400, 'CW_ERR_VALIDATION', 'body must be {"t1": <ms since epoch>}');
      return;
    }
    Atomics.add(counters, 0, 1);
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    const payload = timeReplyPayload(t1, t2, () => clock.now());
    res.setHeader('content-length', Buffer.byteLength(payload));
    res.end(payload);
  });
}

const options = { keepAliveTimeout: data.keepAliveTimeoutMs, requestTimeout: data.requestTimeoutMs, headersTimeout: data.requestTimeoutMs };
const server = data.tls
  ? createHttpsServer({ ...options, cert: Buffer.from(data.tls.cert), key: Buffer.from(data.tls.key) }, onRequest)
  : createHttpServer(options, onRequest);
// Small exchanges back to back: never wait for an ACK to send the reply (Nagle, RFC 896).
server.on('connection', (s: import('node:net').Socket) => s.setNoDelay(true));
server.on('error', (err: NodeJS.ErrnoException) => parentPort?.postMessage({ kind: 'error', code: err.code ?? null, message: err.message }));
server.listen({ host: data.host, port: data.port }, () => {
  const a = server.address();
  parentPort?.postMessage({ kind: 'listening', port: typeof a === 'object' && a ? a.port : data.port });
});
parentPort?.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  server.close(() => parentPort?.postMessage({ kind: 'closed' }));
  server.closeAllConnections();
});
