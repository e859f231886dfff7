/**
 * kill -9 under load: the real collector takes a stream of reports over 16 connections (single
 * reports and spool-sized arrays from 20 agents) and is killed with SIGKILL the moment the Nth
 * acknowledgement arrives — while other requests are in flight and a group commit may be running.
 * Restarted on the same file, three times in a row:
 * - every report that was acknowledged (200, named in `results`) is in the database;
 * - the database opens cleanly (the collector starts; PRAGMA integrity_check says ok);
 * - re-sending every unacknowledged request stores each of its reports once (some were committed
 *   before the kill without their answer getting out: those come back `duplicate`), and re-sending
 *   acknowledged ones stores nothing;
 * - in the end every report ever sent is stored exactly once.
 *
 * Fails when the collector answers before its commit (acknowledged reports go missing after the
 * kill) or when reportId idempotency is broken (re-sends store rows twice).
 */
import t from 'tap';
import { join } from 'node:path';
import { Pool } from 'undici';
import { makeReport } from '../collector/helpers.js';
import { readDb, samplesOf, startCollector } from './helpers.js';

const ROUNDS = 3;
const CONNECTIONS = 16;

interface Sent {
  body: string;
  reportIds: string[];
}

interface IngestReply {
  results?: { reportId: string; stored: boolean; duplicate: boolean }[];
  rejected?: unknown[];
}

t.test('SIGKILL mid-stream, restart on the same file: nothing acknowledged is lost, re-sends store once', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  const everSent = new Set<string>();
  let counter = 0;

  const newRequest = (round: number): Sent => {
    const k = counter++;
    // One report in three requests is a spool flush of three; the rest single reports.
    const n = k % 3 === 0 ? 3 : 1;
    const reports = Array.from({ length: n }, (_, i) =>
      makeReport({ agentId: `fault-k${k % 20}`, reportId: `kill-${round}-${k}-${i}-${process.pid}`, seq: k * 3 + i, atMs: Date.now() - 1000 + i }),
    );
    for (const r of reports) everSent.add(r.reportId);
    return { body: JSON.stringify(n === 1 ? reports[0] : reports), reportIds: reports.map((r) => r.reportId) };
  };

  for (let round = 0; round < ROUNDS; round++) {
    const c = await startCollector(t, { db, args: ['--rate-limit', '0'] });
    const pool = new Pool(c.url, { connections: CONNECTIONS });
    const acked = new Set<string>();
    const ackedRequests: Sent[] = [];
    const unacked: Sent[] = [];
    const killAt = 120 + round * 90;
    let killed = false;

    const send = async (s: Sent): Promise<void> => {
      try {
        const res = await pool.request({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json' }, body: s.body });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          unacked.push(s);
          return;
        }
        const reply = JSON.parse(text) as IngestReply;
        for (const r of reply.results ?? []) acked.add(r.reportId);
        ackedRequests.push(s);
        if (!killed && acked.size >= killAt) {
          killed = true;
          c.child.kill('SIGKILL');
        }
      } catch {
        unacked.push(s);
      }
    };
    const worker = async () => {
      for (let i = 0; i < 2000 && !killed; i++) await send(newRequest(round));
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    const exit = await c.exited;
    await pool.destroy();
    t.equal(exit.signal, 'SIGKILL', `round ${round + 1}: killed after ${acked.size} acknowledgements, ${unacked.length} requests unanswered`);

    const c2 = await startCollector(t, { db, args: ['--rate-limit', '0'] });
    t.equal(readDb(db, (d) => d.pragma('integrity_check', { simple: true })), 'ok', 'the database is consistent');
    const stored = new Set(samplesOf(db).map((s) => s.reportId));
    const lost = [...acked].filter((id) => !stored.has(id));
    t.same(lost, [], `round ${round + 1}: every one of the ${acked.size} acknowledged reports is stored`);

    // Re-send what got no answer (as an agent's spool does), then a few acknowledged requests
    // (an agent killed before it heard the answer sends them again).
    const client = new Pool(c2.url, { connections: 1 });
    const resend = async (s: Sent) => {
      const res = await client.request({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json' }, body: s.body });
      const reply = (await res.body.json()) as IngestReply;
      if (res.statusCode !== 200) t.fail(`re-send answered ${res.statusCode}: ${JSON.stringify(reply)}`);
      const answered = (reply.results ?? []).map((r) => r.reportId).sort();
      if (JSON.stringify(answered) !== JSON.stringify([...s.reportIds].sort())) t.fail(`re-send of ${s.reportIds.join(',')} answered ${answered.join(',')}`);
      return reply.results ?? [];
    };
    let duplicates = 0;
    for (const s of unacked) duplicates += (await resend(s)).filter((r) => r.duplicate).length;
    const before = samplesOf(db).length;
    const again = ackedRequests.slice(0, 10);
    const dupAgain = (await Promise.all(again.map(resend))).flat();
    t.ok(dupAgain.length > 0 && dupAgain.every((r) => r.duplicate && !r.stored), 're-sent acknowledged reports are answered duplicate');
    t.equal(samplesOf(db).length, before, 're-sending acknowledged reports stores nothing');

    const twice = readDb(db, (d) => d.prepare('SELECT report_id, count(*) AS n FROM samples GROUP BY report_id HAVING n > 1').all());
    t.same(twice, [], 'no report stored twice');
    const all = samplesOf(db);
    const missing = [...everSent].filter((id) => !all.some((r) => r.reportId === id));
    t.same(missing, [], 'every report sent so far is stored');
    t.equal(all.length, everSent.size, `round ${round + 1}: ${everSent.size} reports sent, each stored exactly once (${duplicates} of the re-sent ones had been committed before the kill)`);
    await client.destroy();
    const stop = await c2.kill('SIGTERM');
    t.equal(stop.code, 0, 'clean stop');
  }
});
