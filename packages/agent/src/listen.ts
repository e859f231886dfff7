/**
 * The optional pull endpoint (`--listen HOST:PORT`), node:http only: `GET /v1/report` a fresh
 * report as JSON, `GET /metrics` the same data as Prometheus text. Concurrent scrapes share one
 * collection, and a report is reused for a second so that scrapers cannot make the agent spawn
 * chronyc in a loop.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Report } from '@clockwatch/shared';
import { AgentErrorCodes } from './errors.js';
import { reportToPrometheus, type AgentCounters } from './metrics.js';

export interface ListenOptions {
  host: string;
  port: number;
  collect: () => Promise<Report>;
  counters: () => AgentCounters;
  nowMs?: () => number;
  reuseMs?: number;
}

export interface Listener {
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startListener(o: ListenOptions): Promise<Listener> {
  const now = o.nowMs ?? Date.now;
  let cached: { at: number; report: Promise<Report> } | null = null;
  const fresh = () => {
    if (!cached || now() - cached.at > (o.reuseMs ?? 1000)) {
      const report = o.collect();
      cached = { at: now(), report };
      report.catch(() => (cached = null));
    }
    return cached.report;
  };
  const send = (res: import('node:http').ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };
  const error = (status: number, code: string, message: string) =>
    JSON.stringify({ statusCode: status, code, error: status === 404 ? 'Not Found' : status === 405 ? 'Method Not Allowed' : 'Internal Server Error', message });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/v1/report' && path !== '/metrics') return send(res, 404, 'application/json', error(404, AgentErrorCodes.ROUTE, `no route ${req.method} ${path}`));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json', error(405, AgentErrorCodes.METHOD, 'only GET'));
    fresh().then(
      (r) => {
        if (path === '/metrics') send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', reportToPrometheus(r, o.counters()));
        else send(res, 200, 'application/json', JSON.stringify(r));
      },
      (err: Error) => send(res, 500, 'application/json', error(500, AgentErrorCodes.COLLECT, err.message)),
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
