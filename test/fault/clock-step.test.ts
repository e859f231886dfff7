/**
 * Clock trouble on the reference: the collector (real CLI) runs under libfaketime with a timestamp
 * file (monotonic clock not faked, domain.md §10), and its wall clock is stepped +30 s and back
 * while a real agent reports every second. The verdicts flag the step (the agent's offset reads
 * −30 s: the offset check fails, then passes again once the collector's clock is back), the
 * collector counts its own steps, nothing shows a negative duration, nothing crashes, and every
 * report is stored once, none missing.
 */
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { fixtureRoot, LIBFAKETIME, readDb, samplesOf, spooled, startAgent, startCollector, waitFor } from './helpers.js';

const offsets = (db: string, id: string) =>
  readDb(db, (d) => d.prepare('SELECT s.offset_ms AS offsetMs, s.uncertainty_ms AS uncertaintyMs, s.seq FROM samples s JOIN agents USING (agent_key) WHERE agent_id = ? ORDER BY s.at_ms, s.tie').all(id)) as {
    offsetMs: number | null;
    uncertaintyMs: number | null;
    seq: number;
  }[];

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, body: (res.headers['content-type']?.toString().includes('json') ? JSON.parse(text) : text) as T };
}

interface Check {
  id: string;
  status: string;
  reason: string;
}

t.test('the collector clock steps +30 s and back while an agent reports', { skip: existsSync(LIBFAKETIME) ? false : `${LIBFAKETIME} missing (apt-get install faketime)` }, async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  const stamp = join(dir, 'faketime.rc');
  writeFileSync(stamp, '+0\n');
  const c = await startCollector(t, {
    db,
    env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: stamp, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  });
  const id = 'fault-clock';
  const spool = join(dir, 'spool');
  const agent = startAgent(t, ['--collector', c.url, '--interval', '1', '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', id, '--samples', '4', '--timeout-ms', '2000']);

  await waitFor('two reports with the clocks agreeing', () => offsets(db, id).filter((o) => o.offsetMs !== null && Math.abs(o.offsetMs) < 50).length >= 2);

  writeFileSync(stamp, '+30s\n');
  await waitFor('a report measured against the stepped clock', () => offsets(db, id).some((o) => o.offsetMs !== null && o.offsetMs < -29_000));
  const during = await getJson<{ agent: { offsetMs: number }; verdict: { status: string; checks: Check[] } }>(`${c.url}/v1/agents/${id}`);
  t.equal(during.status, 200);
  const offsetCheck = during.body.verdict.checks.find((k) => k.id === 'offset');
  t.ok(during.body.agent.offsetMs < -29_000 && during.body.agent.offsetMs > -31_000, `the step shows as the agent's offset: ${during.body.agent.offsetMs.toFixed(1)} ms`);
  t.equal(offsetCheck?.status, 'fail', `the offset check flags it: ${offsetCheck?.reason}`);

  writeFileSync(stamp, '+0\n');
  const stepBackAt = offsets(db, id).length;
  await waitFor('two reports after the clock came back', () => offsets(db, id).slice(stepBackAt).filter((o) => o.offsetMs !== null && Math.abs(o.offsetMs) < 50).length >= 2);
  const after = await getJson<{ agent: { offsetMs: number }; verdict: { status: string; checks: Check[] } }>(`${c.url}/v1/agents/${id}`);
  t.ok(Math.abs(after.body.agent.offsetMs) < 50, `back to agreeing: ${after.body.agent.offsetMs.toFixed(2)} ms`);
  t.not(after.body.verdict.checks.find((k) => k.id === 'offset')?.status, 'fail', 'the offset check no longer fails');

  const metrics = await getJson<string>(`${c.url}/metrics`);
  const steps = Number(/^clockwatch_collector_clock_steps(?:\{[^}]*\})? (\S+)$/m.exec(metrics.body)?.[1]);
  t.ok(steps >= 2, `the collector counted its own clock steps: ${steps}`);
  const durationSum = Number(/^clockwatch_ingest_request_duration_seconds_sum(?:\{[^}]*\})? (\S+)$/m.exec(metrics.body)?.[1] ?? '0');
  t.ok(durationSum >= 0, 'request durations are not negative (monotonic clock)');

  const stop = await agent.kill('SIGTERM');
  t.equal(stop.code, 0, 'the agent stops cleanly');
  await waitFor('the spool to drain', () => spooled(spool).length === 0, 10_000);

  // No negative duration anywhere: uncertainties, ages in the reasons, the history.
  const all = offsets(db, id);
  t.ok(all.every((o) => o.uncertaintyMs === null || o.uncertaintyMs >= 0), 'no negative uncertainty stored');
  const history = await getJson<{ points: { uncertaintyMs: number | null; atMs: number; receivedAtMs: number }[] }>(`${c.url}/v1/agents/${id}/history`);
  t.equal(history.status, 200);
  t.ok(history.body.points.every((p) => p.uncertaintyMs === null || p.uncertaintyMs >= 0), 'history: no negative uncertainty');
  t.ok(history.body.points.every((p) => p.atMs <= p.receivedAtMs), 'history: never measured after it was received');
  const detail = await getJson<{ driftPpm?: unknown; verdict: { checks: Check[] } }>(`${c.url}/v1/agents/${id}?driftHours=1`);
  t.equal(detail.status, 200, 'the agent view (with drift over the steps) answers');
  const negative = detail.body.verdict.checks.filter((k) => /-\d[\d.]* ?(ms|s|min|h|d)\b.*ago|ago.*-\d/.test(k.reason));
  t.same(negative, [], 'no reason states a negative age');
  const fleet = await getJson<{ agents: { id: string; lastSeenMs: number }[] }>(`${c.url}/v1/agents`);
  t.equal(fleet.status, 200);

  // Every report once, none missing. The table keeps host-time order (schema 6: clustered by agent
  // and time), and the collector's clock stepped: a report measured during the step sits 30 s
  // later there, so the sequence is checked in seq order.
  const rows = samplesOf(db, id);
  t.equal(new Set(rows.map((r) => r.reportId)).size, rows.length, 'each report stored once');
  const seqs = rows.map((r) => r.seq).sort((a, b) => a - b);
  t.ok(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1), `without a gap: ${seqs.join(' ')} (host-time order: ${rows.map((r) => r.seq).join(' ')})`);

  const health = await getJson<unknown>(`${c.url}/healthz`);
  t.equal(health.status, 200, 'the collector is up');
  t.notMatch(c.out(), /"level":(50|60)/, 'no error logged');
  const cstop = await c.kill('SIGTERM');
  t.equal(cstop.code, 0, 'the collector stops cleanly');
});
