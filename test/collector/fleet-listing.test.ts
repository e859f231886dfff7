/**
 * GET /v1/agents on the writer: the body joined from the row cache's kept bytes
 * (routes/bytes-body.ts, store/sqlite-fleet-rows.ts) is, byte for byte, JSON.stringify of a fresh
 * read (another connection's SQL path with an empty cache) for every filter, sort, offset and limit,
 * at instants on both sides of agents' stale deadlines; its length header is its byte count. The
 * ETag, made from the page's rows (agent, version, status) rather than its body, changes exactly
 * when a row of the page changes (a report, time making an agent stale, another connection's
 * write, the head's numbers) and not when a row elsewhere does, and If-None-Match gets 304. A client
 * that goes away in the middle of a 5 MB body leaves no connection open and the server answering the
 * next requests whole.
 */
import t from 'tap';
import { join } from 'node:path';
import { connect } from 'node:net';
import { request } from 'undici';
import { fixedClock, openSqliteStore, type AgentQuery, type SampleRecord } from '@clockwatch/collector';
import type { AgentStatus } from '@clockwatch/shared';
import { joinBytes, jsonArrayPieces } from '../../packages/collector/src/routes/bytes-body.js';
import { appWith, makeReport, recordOf } from './helpers.js';

const T0 = 1_795_700_000_000;
const NAME = 'col-\u{1f600}"q"';
const BASES: AgentStatus[] = ['compliant', 'warning', 'unknown', 'noncompliant'];
const HOSTS = ['host-a', 'höst', 'host-\u{1f600}', 'host-\uff01', 'Host-b', ''];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n agents with random base status, staleness limit (or none), last delivery, hostname and labels (`pad` bytes of label text each). */
function fleet(n: number, seed: number, pad = 0, atMs = T0): SampleRecord[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const base = BASES[Math.floor(r() * BASES.length)] as AgentStatus;
    const at = atMs + Math.floor(r() * 600_000);
    const agentId = `vm-${String(i).padStart(5, '0')}${i % 7 === 0 ? '-é' : ''}`;
    const hostname = `${HOSTS[Math.floor(r() * HOSTS.length)]}${i % 3}`;
    const labels: Record<string, string> = { rack: `r${i % 5}`, role: i % 2 ? 'db' : 'web\u{1f600}' };
    if (pad > 0) labels.note = 'x'.repeat(pad);
    const report = makeReport({ agentId, hostname, atMs: at, labels });
    const staleAfterMs = r() < 0.2 ? null : 60_000 + Math.floor(r() * 240_000);
    return recordOf(report, at + 100, { agentId, hostname, baseStatus: base, status: base, staleAfterMs });
  });
}

/** The body a fresh read gives for the query: another connection, its own empty row cache. */
async function fresh(dbPath: string, q: AgentQuery & { offset: number; limit: number }): Promise<string> {
  const reader = openSqliteStore({ path: dbPath, readonly: true });
  try {
    const page = await reader.listAgents(q);
    return JSON.stringify({ collector: NAME, total: page.total, offset: q.offset, limit: q.limit, agents: page.rows });
  } finally {
    await reader.close();
  }
}

t.test('jsonArrayPieces joined: the bytes of head + JSON array + tail', async (t) => {
  const r = rng(5);
  const word = (n: number) => JSON.stringify({ s: Array.from({ length: n }, () => 'aé\u{1f600}"\\'[Math.floor(r() * 5)]).join('') });
  const cases: [string, string[], string][] = [
    ['{"h":', [], '}'],
    ['', [word(3)], ''],
    ['{"h":"\u{1f600}","a":', Array.from({ length: 3000 }, () => word(Math.floor(r() * 60))), '}'],
    // One large item among small ones; many items of one size.
    ['[', [word(10), word(300_000), word(5)], ']'],
    ['', Array.from({ length: 256 }, () => '"' + 'y'.repeat(1021) + '"'), ''],
  ];
  for (const [head, items, tail] of cases) {
    const body = joinBytes(jsonArrayPieces(head, items.map((x) => Buffer.from(x)), tail));
    const want = Buffer.from(`${head}[${items.join(',')}]${tail}`);
    t.equal(body.length, want.length, `${items.length} items: length`);
    t.ok(body.equals(want), `${items.length} items: the bytes`);
  }
});

t.test('every filter, sort, offset and limit: the body is the fresh JSON.stringify text', async (t) => {
  const clock = fixedClock(T0 + 250_000);
  const dbPath = join(t.testdir(), 'v.db');
  const { app, store, close } = await appWith({ clock, dbPath, name: NAME });
  t.teardown(close);
  await store.write(fleet(400, 3));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const variants: [string, AgentQuery & { offset: number; limit: number }][] = [
    ['', { nowMs: 0, offset: 0, limit: 1000 }],
    ['?limit=10000', { nowMs: 0, offset: 0, limit: 10_000 }],
    ['?offset=123&limit=77', { nowMs: 0, offset: 123, limit: 77 }],
    ['?offset=10000', { nowMs: 0, offset: 10_000, limit: 1000 }],
    ['?limit=1', { nowMs: 0, offset: 0, limit: 1 }],
    ['?sort=severity', { nowMs: 0, sort: 'severity', offset: 0, limit: 1000 }],
    ['?sort=severity&limit=100', { nowMs: 0, sort: 'severity', offset: 0, limit: 100 }],
    ['?sort=severity&offset=30&limit=50', { nowMs: 0, sort: 'severity', offset: 30, limit: 50 }],
    ['?status=stale', { nowMs: 0, statuses: ['stale'], offset: 0, limit: 1000 }],
    ['?status=compliant,warning&sort=severity', { nowMs: 0, statuses: ['compliant', 'warning'], sort: 'severity', offset: 0, limit: 1000 }],
    ['?q=h%C3%B6st', { nowMs: 0, q: 'höst', offset: 0, limit: 1000 }],
    ['?label=rack%3Dr3', { nowMs: 0, labels: { rack: 'r3' }, offset: 0, limit: 1000 }],
    ['?label=rack%3Dr3&status=stale,unknown&offset=2&limit=9', { nowMs: 0, labels: { rack: 'r3' }, statuses: ['stale', 'unknown'], offset: 2, limit: 9 }],
  ];
  for (const now of [T0 + 250_000, T0 + 500_000, T0 + 2_000_000]) {
    clock.set(now);
    for (const [qs, q] of variants) {
      const res = await request(`${url}/v1/agents${qs}`);
      const bytes = Buffer.from(await res.body.arrayBuffer());
      t.equal(res.statusCode, 200, `${qs}: 200`);
      t.equal(Number(res.headers['content-length']), bytes.length, `${qs}: length header = bytes sent`);
      t.equal(bytes.toString('utf8'), await fresh(dbPath, { ...q, nowMs: now }), `${qs} at +${now - T0} ms: the fresh text`);
    }
  }
  const head = await request(`${url}/v1/agents?limit=10000`, { method: 'HEAD' });
  const get = await request(`${url}/v1/agents?limit=10000`);
  const getBytes = Buffer.from(await get.body.arrayBuffer());
  t.equal(head.statusCode, 200, 'HEAD: 200');
  t.equal(Number(head.headers['content-length']), getBytes.length, "HEAD: the GET's length");
  t.equal(head.headers.etag, get.headers.etag, "HEAD: the GET's ETag");
  t.equal((await head.body.arrayBuffer()).byteLength, 0, 'HEAD: no body');
});

t.test('the ETag changes exactly when a row of the page changes; If-None-Match gets 304', async (t) => {
  const clock = fixedClock(T0 + 100_000);
  const dbPath = join(t.testdir(), 'e.db');
  const { app, store, close } = await appWith({ clock, dbPath, name: NAME });
  t.teardown(close);
  // Nobody stale before T0 + 60 s + 600 s; every agent with a limit is stale by T0 + 1,000 s.
  await store.write(fleet(200, 4));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const get = async (path: string, tag?: string) => {
    const res = await request(url + path, tag ? { headers: { 'if-none-match': tag } } : {});
    const body = await res.body.text();
    return { status: res.statusCode, etag: res.headers.etag as string | undefined, body };
  };
  const all = '/v1/agents?limit=10000';
  const first10 = '/v1/agents?limit=10';
  const a1 = await get(all);
  const b1 = await get(first10);
  t.match(a1.etag, /^W\/"[A-Za-z0-9_-]+"$/, 'a weak ETag');
  t.equal((await get(all)).etag, a1.etag, 'nothing changed: the same tag');
  const hit = await get(all, a1.etag);
  t.equal(hit.status, 304, 'If-None-Match of it: 304');
  t.equal(hit.body, '', '304: no body');
  t.equal(hit.etag, a1.etag, '304: the tag again');
  t.equal((await get(all, 'W/"other", "x"')).status, 200, 'other tags: 200');
  t.not((await get('/v1/agents?limit=5000')).etag, a1.etag, 'same rows, another limit in the head: another tag');

  // A report of the last agent by id: on the whole fleet's page, not on the first ten's.
  const last = fleet(200, 4)[199] as SampleRecord;
  await store.write([recordOf(makeReport({ agentId: last.agentId, hostname: last.hostname, atMs: T0 + 90_000 }), T0 + 90_100, { agentId: last.agentId, hostname: last.hostname, staleAfterMs: 300_000 })]);
  const a2 = await get(all, a1.etag);
  t.equal(a2.status, 200, 'a row of the page changed: 200 for the old tag');
  t.not(a2.etag, a1.etag, 'and a new tag');
  t.equal(a2.body, await fresh(dbPath, { nowMs: clock.now(), offset: 0, limit: 10_000 }), 'the fresh text');
  const b2 = await get(first10, b1.etag);
  t.equal(b2.status, 304, 'no row of the first ten changed: still 304');
  t.equal(b2.etag, b1.etag);

  // Time alone: agents of the first ten go stale (their status is in the row).
  clock.set(T0 + 1_000_000);
  const b3 = await get(first10, b1.etag);
  t.equal(b3.status, 200, 'agents went stale: 200');
  t.not(b3.etag, b1.etag, 'a new tag');
  t.match(b3.body, /"status":"stale"/);
  t.equal((await get(first10, b3.etag)).status, 304, 'and 304 for the new tag');
  // The same instant asked again (a kept stale flag, not a fresh evaluation): the same tag.
  t.equal((await get(first10)).etag, b3.etag, 'same instant, same tag');

  // Another connection writes one of the first ten.
  const other = openSqliteStore({ path: dbPath });
  const firstAgent = fleet(200, 4)[0] as SampleRecord;
  await other.write([recordOf(makeReport({ agentId: firstAgent.agentId, hostname: 'moved', atMs: T0 + 999_000 }), T0 + 999_100, { agentId: firstAgent.agentId, hostname: 'moved' })]);
  await other.close();
  const b4 = await get(first10, b3.etag);
  t.equal(b4.status, 200, "another connection's write: 200");
  t.match(b4.body, /"hostname":"moved"/);
  t.equal(b4.body, await fresh(dbPath, { nowMs: clock.now(), offset: 0, limit: 10 }), 'the fresh text');
});

t.test('a client that goes away mid-body does not break the next requests', async (t) => {
  const clock = fixedClock(T0 + 100_000);
  const dbPath = join(t.testdir(), 'a.db');
  const { app, store, close } = await appWith({ clock, dbPath, name: NAME });
  t.teardown(close);
  // ~2 KiB a row, 2,500 rows: 5 MB, more than the sockets take for a client that does not read.
  await store.write(fleet(2500, 6, 1800));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let closed = 0;
  app.server.on('request', (_req, res) => res.on('close', () => closed++));
  const { port } = new URL(url);
  const got = await new Promise<{ bytes: number; length: number }>((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => s.write('GET /v1/agents?limit=10000 HTTP/1.1\r\nhost: x\r\n\r\n'));
    let text = '';
    s.on('error', reject);
    s.once('data', (d: Buffer) => {
      text = d.toString('latin1');
      s.pause();
      // Let the server write what the sockets take, then go away.
      setTimeout(() => {
        s.destroy();
        const m = /content-length: (\d+)/i.exec(text);
        resolve({ bytes: d.length, length: Number(m?.[1]) });
      }, 100);
    });
  });
  t.ok(got.length > 4_000_000, `a ${got.length} B body`);
  t.ok(got.bytes < got.length, `the client read ${got.bytes} B of it and went away`);
  // The server closes the response and lets go of the connection (what it had not sent is dropped).
  const connections = () => new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  for (let i = 0; i < 100 && (closed === 0 || (await connections()) > 0); i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(closed, 1, 'the response closed');
  t.equal(await connections(), 0, 'no connection left open');
  const want = await fresh(dbPath, { nowMs: clock.now(), offset: 0, limit: 10_000 });
  for (let i = 0; i < 3; i++) {
    const res = await request(`${url}/v1/agents?limit=10000`);
    const body = await res.body.text();
    t.equal(res.statusCode, 200, `request ${i + 1} after: 200`);
    t.equal(body, want, `request ${i + 1} after: the whole body`);
  }
  t.equal((await request(`${url}/v1/compliance`)).statusCode, 200, 'other routes answer too');
});
