/**
 * Bad input against the real collector CLI (with --tokens): a corpus of malformed requests —
 * broken JSON, wrong types, missing fields, huge strings and arrays, deep nesting, numbers that are
 * negative or far in the future, unknown schema versions, oversized bodies, wrong content types,
 * missing/invalid/other agents' tokens, a replayed reportId with different content, path traversal
 * in export names and agent ids. Each gets a 4xx whose body is {statusCode, code, error, message}
 * with a code from the collector's catalog — never a 5xx; the collector stays up; and the database
 * holds no row from any of them (only the one good report stored before, and one after).
 *
 * An array body is a spool flush: its reports are refused one by one (200, `accepted: 0`, every
 * report in `rejected` with a 4xx statusCode and a catalog code) — also checked here.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { ERROR_CODES } from '@clockwatch/collector';
import { clone, makeReport } from '../collector/helpers.js';
import { readDb, startCollector } from './helpers.js';

const TOKEN_A = 'cw_fault_token_a_0123456789abcdef';
const TOKEN_B = 'cw_fault_token_b_0123456789abcdef';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The code it must get, when there is exactly one right answer. */
  code?: string;
  status?: number;
  /** An array body: 200 with every report refused on its own. */
  perReport?: boolean;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const JSON_A = { 'content-type': 'application/json', ...auth(TOKEN_A) };

/** A valid report of agent fault-a1, then changed by `edit`. */
function mutated(edit: (r: Record<string, any>) => void, base?: Record<string, any>): string {
  const r = clone(base ?? (makeReport({ agentId: 'fault-a1', atMs: Date.now() - 500 }) as unknown as Record<string, any>));
  edit(r);
  return JSON.stringify(r);
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function corpus(good: Record<string, any>): Case[] {
  const g = () => clone(good);
  const V = 'CW_ERR_VALIDATION';
  const cases: Case[] = [
    // broken JSON and bodies that are not a report
    { name: 'truncated JSON', body: '{"schemaVersion":1,"reportId":', code: 'CW_ERR_BAD_JSON' },
    { name: 'not JSON at all', body: 'hello', code: 'CW_ERR_BAD_JSON' },
    { name: 'JSON with NaN', body: mutated(() => undefined).replace(/"offsetMs":[^,}]+/, '"offsetMs":NaN'), code: 'CW_ERR_BAD_JSON' },
    { name: 'JSON with Infinity', body: '{"schemaVersion":1,"seq":Infinity}', code: 'CW_ERR_BAD_JSON' },
    { name: 'trailing garbage', body: `${mutated(() => undefined)}}}`, code: 'CW_ERR_BAD_JSON' },
    { name: 'single quotes', body: "{'schemaVersion':1}", code: 'CW_ERR_BAD_JSON' },
    { name: 'invalid UTF-8 outside strings', body: Buffer.concat([Buffer.from('{"schemaVersion":1,'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('}')]), code: 'CW_ERR_BAD_JSON' },
    { name: '__proto__ key (prototype pollution)', body: mutated(() => undefined).replace('{', '{"__proto__":{"polluted":true},'), code: 'CW_ERR_BAD_JSON' },
    { name: 'constructor.prototype key', body: mutated(() => undefined).replace('{', '{"constructor":{"prototype":{"polluted":true}},'), code: 'CW_ERR_BAD_JSON' },
    { name: 'empty body', body: '', code: 'CW_ERR_EMPTY_BODY' },
    { name: 'JSON null', body: 'null', status: 400 },
    { name: 'JSON string', body: '"a report"', code: V },
    { name: 'JSON number', body: '42', code: V },
    { name: 'JSON true', body: 'true', code: V },
    { name: 'empty array', body: '[]', code: V },
    { name: 'deeply nested arrays (100,000)', body: nested(100_000, '[', ']'), perReport: true },
    { name: 'deeply nested objects in labels (50,000)', body: mutated((r) => (r.agent.labels = { site: '@@' })).replace('"@@"', nested(50_000, '{"a":', '}')), status: 400 },
    { name: 'deeply nested objects at the top (100,000)', body: nested(100_000, '{"a":', '}'), status: 400 },
    // schema version
    { name: 'schemaVersion 2', body: mutated((r) => (r.schemaVersion = 2)), code: 'CW_ERR_SCHEMA_VERSION' },
    { name: 'schemaVersion 0', body: mutated((r) => (r.schemaVersion = 0)), code: 'CW_ERR_SCHEMA_VERSION' },
    { name: 'schemaVersion "1" (string)', body: mutated((r) => (r.schemaVersion = '1')), code: 'CW_ERR_SCHEMA_VERSION' },
    { name: 'schemaVersion missing', body: mutated((r) => delete r.schemaVersion), code: 'CW_ERR_SCHEMA_VERSION' },
    // wrong types
    { name: 'seq as a string', body: mutated((r) => (r.seq = '41')), code: V },
    { name: 'seq negative', body: mutated((r) => (r.seq = -1)), code: V },
    { name: 'seq fractional', body: mutated((r) => (r.seq = 1.5)), code: V },
    { name: 'agent is an array', body: mutated((r) => (r.agent = [r.agent])), code: V },
    { name: 'labels value is a number', body: mutated((r) => (r.agent.labels = { site: 7 })), code: V },
    { name: 'timeProbe samples as strings', body: mutated((r) => (r.timeProbe.samples = r.timeProbe.samples.map((s: Record<string, number>) => ({ ...s, t1: String(s.t1) })))), code: V },
    { name: 'events is an object', body: mutated((r) => (r.events = {})), code: V },
    { name: 'intervalS as a string', body: mutated((r) => (r.agent.intervalS = '60')), code: V },
    // missing fields
    { name: 'reportId missing', body: mutated((r) => delete r.reportId), code: V },
    { name: 'agent missing', body: mutated((r) => delete r.agent), code: V },
    { name: 'agent.id missing', body: mutated((r) => delete r.agent.id), code: V },
    { name: 'systemTime missing', body: mutated((r) => delete r.systemTime), code: V },
    { name: 'timeProbe missing', body: mutated((r) => delete r.timeProbe), code: V },
    { name: 'events missing', body: mutated((r) => delete r.events), code: V },
    { name: 'clocksource without current', body: mutated((r) => delete r.clocksource.current), code: V },
    // bad ids
    { name: 'reportId too short', body: mutated((r) => (r.reportId = 'abc')), code: V },
    { name: 'reportId with path traversal', body: mutated((r) => (r.reportId = '../../etc/passwd')), code: V },
    { name: 'reportId of 65 characters', body: mutated((r) => (r.reportId = 'r'.repeat(65))), code: V },
    { name: 'agent id with path traversal', body: mutated((r) => (r.agent.id = '../../../etc/passwd')), code: V },
    { name: 'agent id empty', body: mutated((r) => (r.agent.id = '')), code: V },
    { name: 'agent id with a NUL byte', body: mutated((r) => (r.agent.id = 'fault-a1\u0000x')), code: V },
    // numbers out of range
    { name: 'systemTime.epochMs negative', body: mutated((r) => (r.systemTime.epochMs = -1)), code: V },
    { name: 'systemTime.epochMs far future (year 2200)', body: mutated((r) => (r.systemTime.epochMs = 7_258_118_400_000)), code: V },
    { name: 'systemTime.epochMs 1e308', body: mutated((r) => (r.systemTime.epochMs = 1e308)), code: V },
    { name: 'uptimeS negative', body: mutated((r) => (r.systemTime.uptimeS = -5)), code: V },
    { name: 'sample t1 negative', body: mutated((r) => (r.timeProbe.samples[0].t1 = -1000)), code: V },
    { name: 'sample t4 far future', body: mutated((r) => (r.timeProbe.samples[0].t4 = 9e15)), code: V },
    { name: 'intervalS zero', body: mutated((r) => (r.agent.intervalS = 0)), code: V },
    { name: 'intervalS a year', body: mutated((r) => (r.agent.intervalS = 31_536_000)), code: V },
    { name: 'event atMs far future', body: mutated((r) => (r.events = [{ kind: 'step', atMs: 9e15, stepMs: 1 }])), code: V },
    // huge strings and arrays (within the body limit)
    { name: 'hostname of 1 MB', body: mutated((r) => (r.agent.hostname = 'h'.repeat(1 << 20))), code: V },
    // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON.parse gives back as one.
    { name: 'hostname with a lone surrogate (\\ud800 escape)', body: mutated((r) => (r.agent.hostname = 'vm-\ud800')), code: V },
    { name: 'label key with a lone surrogate', body: mutated((r) => (r.agent.labels = { ['k\udc00']: 'v' })), code: V },
    { name: 'extra top-level field of 3 MB', body: mutated((r) => (r.padding = 'x'.repeat(3 << 20))), code: V },
    { name: 'unknown top-level field', body: mutated((r) => (r.isAdmin = true)), code: V },
    { name: '100,000 available clocksources', body: mutated((r) => (r.clocksource.available = Array.from({ length: 100_000 }, (_, i) => `cs${i}`))), code: V },
    { name: '10,000 time samples', body: mutated((r) => (r.timeProbe.samples = Array.from({ length: 10_000 }, () => r.timeProbe.samples[0]))), code: V },
    { name: '20,000 events', body: mutated((r) => (r.events = Array.from({ length: 20_000 }, () => ({ kind: 'step', atMs: r.systemTime.epochMs, stepMs: 1 })))), code: V },
    { name: '1,000 labels', body: mutated((r) => (r.agent.labels = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])))), code: V },
    { name: 'label key with spaces', body: mutated((r) => (r.agent.labels = { 'bad key': 'v' })), code: V },
    // request level
    { name: '1,001 reports in one array', body: JSON.stringify(Array.from({ length: 1001 }, () => g())), code: 'CW_ERR_BATCH_TOO_LARGE', status: 413 },
    { name: 'content type text/plain', headers: { 'content-type': 'text/plain', ...auth(TOKEN_A) }, body: JSON.stringify(g()), code: 'CW_ERR_CONTENT_TYPE', status: 415 },
    { name: 'content type form', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth(TOKEN_A) }, body: 'a=1', code: 'CW_ERR_CONTENT_TYPE', status: 415 },
    { name: 'content type multipart', headers: { 'content-type': 'multipart/form-data; boundary=x', ...auth(TOKEN_A) }, body: '--x--', code: 'CW_ERR_CONTENT_TYPE', status: 415 },
    { name: 'no content type', headers: { ...auth(TOKEN_A) }, body: JSON.stringify(g()), status: 415 },
    // tokens
    { name: 'no Authorization header', headers: { 'content-type': 'application/json' }, body: JSON.stringify(g()), code: 'CW_ERR_TOKEN_MISSING', status: 401 },
    { name: 'Authorization: Basic', headers: { 'content-type': 'application/json', authorization: 'Basic YTpi' }, body: JSON.stringify(g()), code: 'CW_ERR_TOKEN_MISSING', status: 401 },
    { name: 'empty bearer token', headers: { 'content-type': 'application/json', authorization: 'Bearer ' }, body: JSON.stringify(g()), status: 401 },
    { name: 'unknown token', headers: { 'content-type': 'application/json', ...auth('cw_not_a_token_0000000000000') }, body: JSON.stringify(g()), code: 'CW_ERR_TOKEN_INVALID', status: 401 },
    { name: 'token of 8 KiB', headers: { 'content-type': 'application/json', ...auth('t'.repeat(8192)) }, body: JSON.stringify(g()), code: 'CW_ERR_TOKEN_INVALID', status: 401 },
    { name: "another agent's token", headers: { 'content-type': 'application/json', ...auth(TOKEN_B) }, body: JSON.stringify(g()), code: 'CW_ERR_FORBIDDEN', status: 403 },
    { name: "a report of another agent with this token", body: mutated((r) => (r.agent.id = 'fault-b1')), code: 'CW_ERR_FORBIDDEN', status: 403 },
    { name: "an array mixing another agent's report", body: JSON.stringify([g(), JSON.parse(mutated((r) => (r.agent.id = 'fault-b1')))]), code: 'CW_ERR_FORBIDDEN', status: 403 },
    // idempotency
    { name: 'replayed reportId with different content', body: mutated((r) => (r.seq = r.seq + 1), good), code: 'CW_ERR_REPORT_CONFLICT', status: 409 },
    { name: 'replayed reportId with different content, in an array', body: JSON.stringify([JSON.parse(mutated((r) => (r.agent.hostname = 'other'), good))]), perReport: true },
    // arrays: refused one by one
    { name: 'array of invalid reports', body: JSON.stringify([JSON.parse(mutated((r) => (r.seq = -1))), JSON.parse(mutated((r) => (r.schemaVersion = 9))), 42, null]), perReport: true },
    // paths
    { name: 'export name with ../', method: 'GET', path: '/v1/exports/..%2F..%2F..%2Fetc%2Fpasswd', headers: {} },
    { name: 'export name with raw ../', method: 'GET', path: '/v1/exports/../../clockwatch.db', headers: {} },
    { name: 'export name %2e%2e', method: 'GET', path: '/v1/exports/%2e%2e%2f%2e%2e%2fclockwatch.db', headers: {} },
    { name: 'export name with a NUL', method: 'GET', path: '/v1/exports/a%00.csv', headers: {} },
    { name: 'agent id with ../ in the path', method: 'GET', path: '/v1/agents/..%2F..%2Fetc%2Fpasswd', headers: {} },
    { name: 'malformed percent-encoding', method: 'GET', path: '/v1/agents/%E0%A4%A', headers: {} },
    { name: 'history with from after to', method: 'GET', path: '/v1/agents/fault-a1/history?from=2000&to=1000', headers: {}, code: 'CW_ERR_BAD_PARAM' },
    { name: 'history with a bad limit', method: 'GET', path: '/v1/agents/fault-a1/history?limit=-5', headers: {}, code: 'CW_ERR_BAD_PARAM' },
    { name: 'agents with limit=abc', method: 'GET', path: '/v1/agents?limit=abc', headers: {}, code: 'CW_ERR_BAD_PARAM' },
    { name: 'PUT on /v1/reports', method: 'PUT', path: '/v1/reports', headers: JSON_A, body: JSON.stringify(g()) },
    { name: 'time exchange with garbage', path: '/v1/time', headers: { 'content-type': 'application/json' }, body: '{"t1":"now"}', code: V },
    { name: 'time exchange with t1 in year 3000', path: '/v1/time', headers: { 'content-type': 'application/json' }, body: '{"t1":32503680000000}', code: V },
  ];
  return cases;
}

t.test('a corpus of malformed requests: every one a 4xx with a catalog code, none stored, the collector up', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  writeFileSync(join(dir, 'tokens'), `sha256:${sha(TOKEN_A)}  fault-a*\nsha256:${sha(TOKEN_B)}  fault-b*\n`);
  const c = await startCollector(t, { db, args: ['--tokens', join(dir, 'tokens'), '--rate-limit', '0'] });

  const send = async (k: Case) => {
    const res = await request(c.url + (k.path ?? '/v1/reports'), { method: k.method ?? (k.body === undefined ? 'GET' : 'POST'), headers: k.headers ?? JSON_A, body: k.body });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  };

  const good = makeReport({ agentId: 'fault-a1', atMs: Date.now() - 1000 }) as unknown as Record<string, any>;
  const first = await send({ name: 'good', body: JSON.stringify(good) });
  t.equal(first.status, 200, 'a good report is stored');

  const cases = corpus(good);
  t.ok(cases.length >= 50, `${cases.length} malformed requests`);
  for (const k of cases) {
    const r = await send(k);
    let body: { statusCode?: number; code?: string; error?: string; message?: string; accepted?: number; results?: unknown[]; rejected?: { statusCode: number; code: string }[] } = {};
    try {
      body = JSON.parse(r.text);
    } catch {
      // checked below
    }
    if (k.perReport) {
      const ok = r.status === 200 && body.accepted === 0 && (body.results ?? []).length === 0 && (body.rejected ?? []).length > 0 && body.rejected!.every((x) => x.statusCode >= 400 && x.statusCode < 500 && ERROR_CODES.includes(x.code));
      t.ok(ok, `${k.name}: 200, every report refused with a 4xx and a catalog code: ${r.text.slice(0, 300)}`);
      continue;
    }
    const okStatus = r.status >= 400 && r.status < 500 && (k.status === undefined || r.status === k.status);
    const okBody = body.statusCode === r.status && typeof body.code === 'string' && ERROR_CODES.includes(body.code) && (k.code === undefined || body.code === k.code) && typeof body.message === 'string' && typeof body.error === 'string';
    t.ok(okStatus && okBody, `${k.name}: ${r.status} ${body.code ?? r.text.slice(0, 200)}`);
  }

  // On a raw socket: requests no HTTP client library sends.
  const raw = (text: string | Buffer) =>
    new Promise<string>((resolve) => {
      const s = connect(c.port, '127.0.0.1', () => s.write(text));
      let out = '';
      s.on('data', (d) => {
        out += d.toString();
        // One answer is enough (the server may keep a refused upload's connection open).
        if (/\r\n\r\n[\s\S]*\}$/.test(out)) s.destroy();
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve(out));
      s.setTimeout(5000, () => s.destroy());
    });
  const head = (extra: string) => `POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${TOKEN_A}\r\n${extra}\r\n`;
  const rawCases: [string, string | Buffer, RegExp][] = [
    ['a Content-Length that is not a number', head('Content-Length: abc\r\n'), /^HTTP\/1\.1 400 [\s\S]*"code":"CW_ERR_BAD_REQUEST"/],
    ['an oversized body (5 MiB announced)', head(`Content-Length: ${5 << 20}\r\n`) + '['.repeat(65536), /^HTTP\/1\.1 413 [\s\S]*"code":"CW_ERR_BODY_TOO_LARGE"/],
    ['an oversized chunked body (5 MiB sent)', Buffer.concat([Buffer.from(head('Transfer-Encoding: chunked\r\n')), Buffer.from(`500000\r\n${'x'.repeat(5 << 20)}\r\n0\r\n\r\n`)]), /^HTTP\/1\.1 413 [\s\S]*"code":"CW_ERR_BODY_TOO_LARGE"/],
    ['both Content-Length and chunked', head('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\n', /^HTTP\/1\.1 400 [\s\S]*"code":"CW_ERR_BAD_REQUEST"/],
    ['a header line without a colon', 'POST /v1/reports HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n', /^HTTP\/1\.1 400 [\s\S]*"code":"CW_ERR_BAD_REQUEST"/],
    ['headers of 64 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(65536)}\r\n\r\n`, /^HTTP\/1\.1 4\d\d [\s\S]*"code":"CW_ERR_[A-Z_]+"/],
  ];
  for (const [name, text, re] of rawCases) t.match(await raw(text), re, `${name}: a 4xx with a catalog code`);

  const health = await request(`${c.url}/healthz`);
  await health.body.text();
  t.equal(health.statusCode, 200, 'the collector is still up');
  t.ok(c.alive(), 'the collector process is alive');

  const rows = readDb(db, (d) => ({
    samples: d.prepare('SELECT report_id FROM samples').pluck().all(),
    agents: d.prepare('SELECT agent_id FROM agents').pluck().all(),
    steps: d.prepare('SELECT count(*) FROM steps').pluck().get(),
    doc: d.prepare('SELECT report FROM agent_docs').pluck().all(),
  }));
  t.same(rows.samples, [good.reportId], 'no row from any of them: only the good report is stored');
  t.same(rows.agents, ['fault-a1'], 'no agent from any of them');
  t.equal(rows.steps, 0, 'no clock step from any of them');
  t.same(rows.doc.map((d) => JSON.parse(d as string)), [good], 'the stored report is the original, not a replay');

  const after = await send({ name: 'good again', body: JSON.stringify(makeReport({ agentId: 'fault-a1', atMs: Date.now() - 200 })) });
  t.equal(after.status, 200, 'a good report after the corpus is stored');
  t.equal(readDb(db, (d) => d.prepare('SELECT count(*) FROM samples').pluck().get()), 2);
  t.notMatch(c.out(), /"level":50/, 'no request was logged as a server error');
  await c.kill('SIGTERM');
});
