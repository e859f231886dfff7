/**
 * Outage, end to end with the real agent CLI and the real collector CLI: the collector is killed
 * for several agent cycles; the agent, its spool holding the reports of the outage, is killed with
 * SIGKILL and started again (it keeps collecting); the collector comes back on the same port and
 * file. Every report the agent made arrives exactly once and in order: the stored sequence of the
 * agent has no gap and no repeat, in insertion order, up to the last seq the agent handed out.
 *
 * A second case bounds the spool (--spool-max-reports 3) below the outage: the oldest reports are
 * dropped, and the gap the collector sees is exactly the count the agent reports as dropped —
 * nothing is lost silently.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureRoot, restartCollector, samplesOf, spooled, startAgent, startCollector, waitFor, type SampleRow } from './helpers.js';

const agentArgs = (url: string, spool: string, id: string, extra: string[] = []) => [
  '--collector', url, '--interval', '1', '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', id,
  '--samples', '2', '--timeout-ms', '1000', '--log-level', process.env.CW_DEBUG ? 'debug' : 'info', ...extra,
];

function assertOnceInOrder(t: Test, rows: SampleRow[], what: string) {
  const seqs = rows.map((r) => r.seq);
  t.equal(new Set(rows.map((r) => r.reportId)).size, rows.length, `${what}: each report stored once`);
  const firstBad = seqs.findIndex((s, i) => i > 0 && s !== (seqs[i - 1] as number) + 1);
  t.equal(firstBad, -1, `${what}: stored in order without a gap: ${seqs.join(' ')}`);
}

/** Highest seq that left the agent's spool (last.json) or still waits in it. */
function lastSeqOf(spool: string): number {
  const files = spooled(spool).sort();
  const inSpool = files.length ? Number(files.at(-1)!.slice(0, 12)) : 0;
  let last = 0;
  try {
    last = (JSON.parse(readFileSync(join(spool, 'last.json'), 'utf8')) as { seq: number }).seq;
  } catch {
    // nothing delivered yet
  }
  return Math.max(inSpool, last);
}

t.test('collector down for several cycles, agent SIGKILLed with a full spool and restarted: every report once, in order', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  const spool = join(dir, 'spool');
  const id = 'fault-outage';
  let c = await startCollector(t, { db });
  const port = c.port;

  let agent = startAgent(t, agentArgs(c.url, spool, id));
  await waitFor('two reports stored', () => samplesOf(db, id).length >= 2);

  await c.kill('SIGKILL');
  await waitFor('four reports waiting in the spool', () => spooled(spool).length >= 4);
  const waiting = spooled(spool).length;
  const r1 = await agent.kill('SIGKILL');
  t.equal(r1.signal, 'SIGKILL', `agent killed with ${waiting} reports in its spool`);
  t.ok(spooled(spool).length >= waiting, 'the spooled reports survived the kill');

  agent = startAgent(t, agentArgs(c.url, spool, id));
  await waitFor('the restarted agent to spool more', () => spooled(spool).length >= waiting + 2);
  t.match(agent.out(), /unreachable|ECONNREFUSED/, 'the agent says the collector is unreachable');

  c = await restartCollector(t, { db, port });
  await waitFor('the spool to drain', () => spooled(spool).length === 0 && samplesOf(db, id).length >= waiting + 4, 30_000);
  const stop = await agent.kill('SIGTERM');
  t.equal(stop.code, 0, 'the agent stops cleanly on SIGTERM');
  await waitFor('the last report', () => samplesOf(db, id).at(-1)?.seq === lastSeqOf(spool), 10_000).catch(() => undefined);

  const rows = samplesOf(db, id);
  assertOnceInOrder(t, rows, 'outage');
  t.equal(rows[0]?.seq, 1, 'from the first report');
  t.equal(rows.at(-1)?.seq, lastSeqOf(spool), 'up to the last report the agent made');
  t.same(spooled(spool), [], 'nothing left in the spool');
  await c.kill('SIGTERM');
});

t.test('a bounded spool overflows during the outage: the gap is exactly what the agent counts as dropped', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  const spool = join(dir, 'spool');
  const id = 'fault-overflow';
  let c = await startCollector(t, { db });
  const port = c.port;
  const agent = startAgent(t, agentArgs(c.url, spool, id, ['--spool-max-reports', '3']));
  // Acknowledged, not just stored: a report stored whose answer the kill cuts off stays in the
  // spool and may be dropped too (dropped, yet at the collector).
  await waitFor('a report stored and acknowledged', () => samplesOf(db, id).length >= 1 && spooled(spool).length === 0);
  await c.kill('SIGKILL');
  await waitFor('the spool to overflow twice', () => (agent.out().match(/spool full: dropped the/g)?.length ?? 0) >= 2);
  c = await restartCollector(t, { db, port });
  await waitFor('the spool to drain', () => spooled(spool).length === 0 && samplesOf(db, id).length >= 5, 30_000);
  await agent.kill('SIGTERM');

  const rows = samplesOf(db, id);
  const seqs = rows.map((r) => r.seq);
  t.equal(new Set(rows.map((r) => r.reportId)).size, rows.length, 'each report stored once');
  t.ok(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)), `in order: ${seqs.join(' ')}`);
  const gap = (seqs.at(-1) as number) - (seqs[0] as number) + 1 - seqs.length;
  const doc = (await (await fetch(`${c.url}/v1/agents/${id}`)).json()) as { report: { agent: { spool?: { dropped: number } } } };
  t.ok(gap > 0, `reports were dropped: ${gap}`);
  t.equal(doc.report.agent.spool?.dropped, gap, 'the collector is told how many were dropped: the gap, exactly');
  await c.kill('SIGTERM');
});
