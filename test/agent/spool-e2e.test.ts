/**
 * Delivery end to end with the real CLI and a real HTTP collector on 127.0.0.1: an outage of
 * several cycles, and SIGKILL at the worst moments. Nothing may be lost, nothing stored twice,
 * and the collector must see the reports in order.
 */
import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import type { Report } from '@clockwatch/shared';
import { fixtureRoot } from './helpers/paths.js';
import { runCli, startCli } from './helpers/run-cli.js';
import { startTestCollector, type TestCollector } from './helpers/test-collector.js';
import { tmpdir } from './helpers/tmp.js';

const spooled = (dir: string) => readdirSync(dir).filter((f) => /^\d{12}-.*\.json$/.test(f));
const seqs = (rs: Report[]) => rs.map((r) => r.seq);
const wait = async (cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};
const args = (c: TestCollector, spool: string) => ['--collector', c.url, '--interval', '1', '--spool', spool, '--root', fixtureRoot('no-rtc'), '--samples', '1', '--timeout-ms', '1000'];

function assertOnceInOrder(t: Test, c: TestCollector) {
  const s = seqs(c.stored);
  t.equal(new Set(c.stored.map((r) => r.reportId)).size, c.stored.length, 'each report stored once');
  t.ok(s.every((x, i) => i === 0 || x > s[i - 1]!), `stored in order: ${s.join(', ')}`);
  t.same(s, Array.from({ length: s.length }, (_, i) => s[0]! + i), 'no gap: nothing lost');
}

t.test('collector unreachable for several cycles, then back: every report arrives once, in order', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const spool = tmpdir(t);
  const { child, done } = startCli(args(c, spool));
  t.teardown(() => child.kill('SIGKILL'));
  await wait(() => c.stored.length >= 1);
  await c.down();
  await wait(() => spooled(spool).length >= 4);
  t.ok(spooled(spool).length >= 4, `${spooled(spool).length} reports wait in the spool`);
  await c.up();
  await wait(() => spooled(spool).length === 0 && c.stored.length >= 6);
  child.kill('SIGTERM');
  const res = await done;
  t.equal(res.code, 0);
  t.match(res.stderr, /collector unreachable/);
  assertOnceInOrder(t, c);
  t.equal(c.duplicates, 0, 'nothing was sent twice');
  const last = c.stored.at(-1)!;
  t.same(last.agent.spool, { pending: last.agent.spool!.pending, dropped: 0, rejected: 0 });
  t.ok(c.stored.some((r) => (r.agent.spool?.pending ?? 0) >= 3), 'reports built during the outage said how many were pending');
  t.ok(c.pushes.some((n) => n > 1), `the backlog went in batches: ${c.pushes.join(', ')}`);
});

t.test('SIGKILL with reports in the spool, then restart: nothing lost, nothing doubled', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const spool = tmpdir(t);
  await c.down();
  const first = startCli(args(c, spool));
  t.teardown(() => first.child.kill('SIGKILL'));
  await wait(() => spooled(spool).length >= 3);
  first.child.kill('SIGKILL');
  const r1 = await first.done;
  t.equal(r1.signal, 'SIGKILL');
  const waiting = spooled(spool).length;
  t.ok(waiting >= 3, `${waiting} reports survived the kill on disk`);
  await c.up();
  const res = await runCli(['--once', ...args(c, spool)]);
  t.equal(res.code, 0, res.stderr);
  t.equal(c.stored.length, waiting + 1, 'the spooled reports and the new one');
  assertOnceInOrder(t, c);
  t.equal(c.duplicates, 0);
  t.same(spooled(spool), []);
});

t.test('SIGKILL after the collector stored a batch but before the agent heard: the resend is a duplicate, stored once', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const spool = tmpdir(t);
  await c.down();
  const first = startCli(args(c, spool));
  t.teardown(() => first.child.kill('SIGKILL'));
  await wait(() => spooled(spool).length >= 3);
  // When the backlog arrives, kill the agent before it can read the answer.
  c.onPush = () => {
    c.onPush = null;
    first.child.kill('SIGKILL');
  };
  await c.up();
  await first.done;
  const stored = c.stored.length;
  t.ok(stored >= 3, `${stored} stored before the agent died`);
  t.ok(spooled(spool).length >= stored, 'the agent never removed them: it did not hear the answer');
  const res = await runCli(['--once', ...args(c, spool)]);
  t.equal(res.code, 0, res.stderr);
  t.ok(c.duplicates >= stored, `${c.duplicates} resends answered as duplicates`);
  assertOnceInOrder(t, c);
  t.same(spooled(spool), []);
});

t.test('the spool is bounded: the oldest are dropped and the count reported', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const spool = tmpdir(t);
  await c.down();
  const { child, done } = startCli([...args(c, spool), '--spool-max-reports', '2']);
  t.teardown(() => child.kill('SIGKILL'));
  await wait(() => {
    try {
      return readdirSync(spool).includes('state.json') && spooled(spool).length === 2;
    } catch {
      return false;
    }
  });
  await new Promise((r) => setTimeout(r, 2500));
  await c.up();
  await wait(() => c.stored.length >= 3);
  child.kill('SIGTERM');
  await done;
  const dropped = Math.max(...c.stored.map((r) => r.agent.spool?.dropped ?? 0));
  t.ok(dropped >= 1, `${dropped} dropped, reported in agent.spool.dropped`);
});
