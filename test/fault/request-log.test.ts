/**
 * Issue 11, items 4, 6, 7 and 12 against the real collector CLI (its stdout is the log):
 * - 4: a token in the query string (`?token=`, `?access_token=`) or in any header that can carry
 *   one (Authorization, Proxy-Authorization, X-Api-Key, X-Auth-Token, Cookie) never reaches the log,
 *   and the query string of /v1/reports is never written;
 * - 6: a body declared in a charset other than UTF-8 gets 415 CW_ERR_CHARSET, nothing is stored;
 * - 7: an HTTP/1.1 request without Host gets the JSON error body every other error has;
 * - 12: a flood of garbage writes a bounded number of log lines; every refusal is either logged or
 *   counted in a "not logged" line, and the metric counts them all.
 */
import t from 'tap';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newToken } from '@clockwatch/collector';
import { makeReport } from '../collector/helpers.js';
import { samplesOf, startCollector, waitFor } from './helpers.js';

/** One raw HTTP exchange (for requests fetch() refuses to make, such as one without Host). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.write(text);
  });
}

t.test('secrets in query strings and headers never reach the log', async (t) => {
  const dir = t.testdir();
  const agent = newToken();
  const read = newToken();
  writeFileSync(join(dir, 'tokens'), `${agent.line}\n`);
  writeFileSync(join(dir, 'read-tokens'), `${read.line}\n`);
  const c = await startCollector(t, { db: join(dir, 'c.db'), args: ['--tokens', join(dir, 'tokens'), '--read-tokens', join(dir, 'read-tokens')] });
  const secrets = Array.from({ length: 9 }, (_, i) => `SeCrEt${i}x${Math.random().toString(36).slice(2)}`);
  const [s0, s1, s2, s3, s4, s5, s6, s7, s8] = secrets as [string, string, string, string, string, string, string, string, string];
  const r1 = await fetch(`${c.url}/v1/reports?token=${s0}&access_token=${s1}&other=${s8}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': s2, 'proxy-authorization': `Basic ${s3}`, authorization: `Bearer ${s4}` },
    body: '{}',
  });
  t.equal(r1.status, 401, 'refused: unknown token');
  const r2 = await fetch(`${c.url}/v1/agents?access_token=${s5}&limit=5`, { headers: { 'x-auth-token': s6, cookie: `session=${s7}` } });
  t.equal(r2.status, 401, 'a read without a read token is refused');
  await waitFor('both refusals logged', () => (c.out().match(/request refused/g)?.length ?? 0) >= 2);
  const out = c.out();
  for (const s of secrets) t.notOk(out.includes(s), `${s.slice(0, 7)} is not in the log`);
  t.match(out, /"url":"\/v1\/reports\?\[redacted\]"/, 'the query of /v1/reports is not written');
  t.match(out, /"url":"\/v1\/agents\?access_token=\[redacted\]&limit=5"/, 'elsewhere only the secret parameters are redacted');
  t.match(out, /"x-api-key":"\[redacted\]"/, 'the header is named, its value is not written');
  await c.kill('SIGTERM');
});

t.test('charset other than UTF-8: 415 CW_ERR_CHARSET; a request without Host: the JSON error body', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const c = await startCollector(t, { db });
  const report = makeReport({ agentId: 'latin1', atMs: Date.now() - 100 });
  report.agent.hostname = 'hôte-é';
  const body = Buffer.from(JSON.stringify(report), 'latin1');
  const r = await fetch(`${c.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body });
  t.equal(r.status, 415);
  const e = (await r.json()) as { code: string; statusCode: number; message: string };
  t.equal(e.code, 'CW_ERR_CHARSET');
  t.equal(e.statusCode, 415);
  const ok = await fetch(`${c.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ ...report, reportId: `${report.reportId.slice(0, -1)}0` }) });
  t.equal(ok.status, 200, `charset=UTF-8 is fine ${ok.status === 200 ? '' : await ok.text()}`);
  t.equal(samplesOf(db).length, 1, 'only the UTF-8 body was stored');
  const doc = (await (await fetch(`${c.url}/v1/agents/latin1`)).json()) as { report: { agent: { hostname: string } } };
  t.equal(doc.report.agent.hostname, 'hôte-é', 'with its name intact');

  const noHost = await raw(c.port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
  t.match(noHost, /^HTTP\/1\.1 400 /, 'HTTP/1.1 without Host: 400');
  const json = JSON.parse(noHost.slice(noHost.indexOf('\r\n\r\n') + 4)) as { code: string; statusCode: number; error: string; message: string };
  t.match(json, { statusCode: 400, code: 'CW_ERR_BAD_REQUEST', error: 'Bad Request' }, 'with the JSON error body');
  t.match(json.message, /Host/);
  const http10 = await raw(c.port, 'GET /healthz HTTP/1.0\r\n\r\n');
  t.match(http10, /^HTTP\/1\.1 200 /, 'HTTP/1.0 needs no Host');
  await c.kill('SIGTERM');
});

t.test('a flood of refused requests: bounded log, every refusal accounted for, all counted in metrics', async (t) => {
  const dir = t.testdir();
  const c = await startCollector(t, { db: join(dir, 'c.db') });
  const n = 3000;
  const garbage = 'x'.repeat(200);
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const r = await fetch(`${c.url}/v1/time`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': garbage }, body: `{"t1":${garbage}` });
        await r.arrayBuffer();
      }),
    );
  }
  const accounted = () => {
    const lines = c.out().split('\n');
    const logged = lines.filter((l) => l.includes('"msg":"request refused"')).length;
    const suppressed = lines.reduce((sum, l) => sum + Number(/"suppressed":(\d+)/.exec(l)?.[1] ?? 0), 0);
    return { logged, suppressed };
  };
  // The count of the last window is written when that window ends.
  await waitFor('every refusal logged or counted', () => {
    const a = accounted();
    return a.logged + a.suppressed === n;
  }, 30_000);
  const { logged, suppressed } = accounted();
  t.ok(logged < n / 10, `${logged} lines for ${n} refusals`);
  t.ok(suppressed > 0, `${suppressed} counted, not logged`);
  const metrics = await (await fetch(`${c.url}/metrics`)).text();
  const m = /clockwatch_http_refused_total\{code="CW_ERR_BAD_JSON"\} (\d+)/.exec(metrics);
  t.equal(Number(m?.[1]), n, 'the metric counts every refusal');
  t.ok(Buffer.byteLength(c.out()) < 200_000, `${Buffer.byteLength(c.out())} bytes of log`);
  await c.kill('SIGTERM');
});
