/**
 * Issue 11, item 15 (the fix is the one-verdict work: the latest state follows the guest's
 * sequence): `agent --once` three times while the collector is down (each report spooled, none
 * measured: the time exchange needs the collector), then once with it up (measured; the spool is
 * delivered with it). The latest state must be the newest report, the measured one — not one of
 * the older reports that arrived in the same batch.
 */
import t from 'tap';
import { join } from 'node:path';
import { fixtureRoot, restartCollector, samplesOf, spooled, startAgent, startCollector } from './helpers.js';

t.test('three --once runs with the collector down, one with it up: the latest state is the newest, measured report', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const spool = join(dir, 'spool');
  const id = 'fault-latest';
  let c = await startCollector(t, { db });
  const { port, url } = c;
  await c.kill('SIGKILL');
  const once = async () => {
    const a = startAgent(t, ['--once', '--collector', url, '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', id, '--samples', '2', '--timeout-ms', '500']);
    return (await a.exited).code;
  };
  for (let i = 1; i <= 3; i++) t.not(await once(), 0, `run ${i}: not delivered (collector down)`);
  t.equal(spooled(spool).length, 3, 'three reports wait in the spool');

  c = await restartCollector(t, { db, port });
  t.equal(await once(), 0, 'run 4: delivered, with the spool');
  t.same(spooled(spool), [], 'the spool is empty');
  const rows = samplesOf(db, id);
  t.same(rows.map((r) => r.seq).sort((a, b) => a - b), [1, 2, 3, 4], 'all four reports stored');
  const newest = rows.find((r) => r.seq === 4);
  const doc = (await (await fetch(`${c.url}/v1/agents/${id}`)).json()) as { seq: number; reportId: string; measurement: { offsetMs: number | null } };
  t.equal(doc.seq, 4, 'the latest state is seq 4, the newest report');
  t.equal(doc.reportId, newest?.reportId, 'that report');
  t.not(doc.measurement.offsetMs, null, 'and it is measured');
  await c.kill('SIGTERM');
});
