/**
 * A small real collector for the agent's tests (node:http on 127.0.0.1:0), implementing the
 * contract's POST /v1/time and POST /v1/reports. It records what it receives, stores each
 * reportId once (like the real collector), and can be told to fail: scripted statuses (503,
 * 429 + Retry-After, 400 with a code), per-report refusals, a required token, or "down" (the
 * listening socket closed, so connections are refused) and back up on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { measureSamples, validateReport, type IngestResult, type Report } from '@clockwatch/shared';

/**
 * Sub-ms wall clock of the test process, independent of the agent's code: anchored at Date.now()
 * millisecond edges, keeping only edges whose bracket is tight (the test runner is busy and may be
 * preempted mid-anchor) and the median of those.
 */
function makeClock(): () => number {
  const anchors: number[] = [];
  for (let tries = 0; anchors.length < 5 && tries < 200; tries++) {
    // Each read of Date.now() is bracketed by performance.now(); the edge to d lies after the
    // bracket start of the last read that returned s and before the bracket end of the read of d.
    let lastStart = performance.now();
    const s = Date.now();
    let start = performance.now();
    let d = Date.now();
    let end = performance.now();
    while (d === s) {
      lastStart = start;
      start = performance.now();
      d = Date.now();
      end = performance.now();
    }
    if (end - lastStart < 0.01 && d === s + 1) anchors.push(d - (lastStart + end) / 2);
  }
  anchors.sort((a, b) => a - b);
  const anchor = anchors[Math.floor(anchors.length / 2)] ?? Date.now() - performance.now();
  return () => anchor + performance.now();
}

export interface ScriptedFailure {
  status: number;
  code: string;
  retryAfter?: string;
}

export interface TestCollector {
  url: string;
  port: number;
  timeRequests: Array<{ t1: number; t2: number; t3: number }>;
  /** Every report in arrival order, resends included. */
  received: Report[];
  /** Each reportId once, in the order first stored. */
  stored: Report[];
  duplicates: number;
  /** TCP connections accepted. */
  connections: number;
  /** Requests to /v1/reports (count and per-request sizes). */
  pushes: number[];
  authorization: Array<string | undefined>;
  /** Failures answered to the next /v1/reports requests, in order. */
  failures: ScriptedFailure[];
  /** reportIds refused with 400 CW_ERR_VALIDATION (per report in an array). */
  refuse: Set<string>;
  requireToken: string | null;
  /** Called on every /v1/reports request before answering (e.g. to kill the agent mid-batch). */
  onPush: ((reports: Report[]) => void | Promise<void>) | null;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const errorBody = (statusCode: number, code: string, message: string) => ({ statusCode, code, error: statusCode >= 500 ? 'Server Error' : 'Bad Request', message });

export async function startTestCollector(): Promise<TestCollector> {
  const now = makeClock();
  const sockets = new Set<Socket>();
  const storedIds = new Set<string>();
  let server: Server;
  const c: TestCollector = {
    url: '',
    port: 0,
    timeRequests: [],
    received: [],
    stored: [],
    duplicates: 0,
    connections: 0,
    pushes: [],
    authorization: [],
    failures: [],
    refuse: new Set(),
    requireToken: null,
    onPush: null,
    down: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    up: async () => {
      for (let i = 0; ; i++) {
        try {
          await listen(c.port);
          return;
        } catch (err) {
          if (i > 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    close: async () => {
      if (server.listening) await c.down();
    },
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const t2 = now();
    const path = (req.url ?? '').split('?')[0];
    const body = await readBody(req);
    if (req.method === 'POST' && path === '/v1/time') {
      const { t1 } = JSON.parse(body) as { t1: number };
      const t3 = now();
      c.timeRequests.push({ t1, t2, t3 });
      return sendJson(res, 200, { t1, t2, t3 });
    }
    if (req.method === 'POST' && path === '/v1/reports') {
      c.authorization.push(req.headers.authorization);
      const parsed = JSON.parse(body) as Report | Report[];
      const isArray = Array.isArray(parsed);
      const reports = isArray ? parsed : [parsed];
      c.pushes.push(reports.length);
      await c.onPush?.(reports);
      if (c.requireToken && req.headers.authorization !== `Bearer ${c.requireToken}`) {
        return sendJson(res, 401, errorBody(401, 'CW_ERR_AUTH', 'bad or missing token'));
      }
      const fail = c.failures.shift();
      if (fail) return sendJson(res, fail.status, errorBody(fail.status, fail.code, `scripted ${fail.status}`), fail.retryAfter ? { 'retry-after': fail.retryAfter } : {});
      const results: IngestResult[] = [];
      const rejected: Array<{ index: number; reportId: string | null; statusCode: number; code: string; message: string }> = [];
      for (const [index, r] of reports.entries()) {
        const v = validateReport(r);
        if (!v.ok || c.refuse.has(r.reportId)) {
          const code = v.ok ? 'CW_ERR_VALIDATION' : v.code;
          const message = v.ok ? 'refused by the test' : v.message;
          if (!isArray) return sendJson(res, 400, errorBody(400, code, message));
          rejected.push({ index, reportId: r.reportId ?? null, statusCode: 400, code, message });
          continue;
        }
        c.received.push(r);
        const duplicate = storedIds.has(r.reportId);
        if (duplicate) c.duplicates++;
        else {
          storedIds.add(r.reportId);
          c.stored.push(r);
        }
        const m = 'samples' in r.timeProbe ? measureSamples(r.timeProbe.samples, Math.max(r.timeProbe.resolutionMs ?? 1, 0.001)) : null;
        results.push({
          reportId: r.reportId,
          agentId: r.agent.id,
          stored: !duplicate,
          duplicate,
          offsetMs: m?.offsetMs ?? null,
          uncertaintyMs: m?.uncertaintyMs ?? null,
          rtcOffsetS: null,
          verdict: { status: 'unknown', checks: [], rules: [] },
        });
      }
      return sendJson(res, 200, rejected.length ? { accepted: results.length, results, rejected } : { accepted: results.length, results });
    }
    sendJson(res, 404, errorBody(404, 'CW_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${path}`));
  };

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server = createServer((req, res) => {
        handler(req, res).catch((err: Error) => sendJson(res, 500, errorBody(500, 'CW_ERR_TEST', err.message)));
      });
      server.keepAliveTimeout = 60_000;
      server.on('connection', (s) => {
        c.connections++;
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        c.port = (server.address() as AddressInfo).port;
        c.url = `http://127.0.0.1:${c.port}`;
        resolve();
      });
    });
  await listen(0);
  return c;
}
