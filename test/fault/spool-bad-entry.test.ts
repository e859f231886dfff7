/**
 * Issue 11, item 1: one bad spool file must never hang the agent. Every JSON value type that is not
 * a report (null, 0, false, "", {}, "x", [], true, 123), a truncated report and a report whose
 * content is not the one its name says are put in the spool of the real agent CLI, which runs
 * `--once` against a real collector. The agent exits on its own, sends its new report, moves each
 * bad file to S/bad/, logs each once, and counts them; a second run logs nothing about them again.
 */
import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureRoot, samplesOf, spooled, startAgent, startCollector, waitFor } from './helpers.js';

const BAD: Record<string, string> = {
  null: 'null',
  zero: '0',
  false: 'false',
  true: 'true',
  number: '123',
  emptyString: '""',
  string: '"x"',
  emptyObject: '{}',
  array: '[1,2]',
  truncated: '{"schemaVersion":1,"reportId":"cccccccccccccc11","seq":11,"agent":{"id":"x"',
  empty: '',
  otherReport: '{"reportId":"dddddddddddddddd","seq":99}',
};

const runOnce = async (t: Test, args: string[]) => {
  const a = startAgent(t, args);
  // A hang (the old behaviour: 100 % CPU, SIGTERM ignored) shows as this wait running out.
  const exit = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
  return { exit, out: a.out() };
};

t.test('a spool holding only a falsy JSON value (null, 0, false, ""): --once exits, the report goes', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  const c = await startCollector(t, { db });
  for (const [i, body] of ['null', '0', 'false', '""'].entries()) {
    const spool = join(dir, `spool-${i}`);
    mkdirSync(spool);
    writeFileSync(join(spool, '000000000001-cccccccccccccccc.json'), body);
    const id = `fault-falsy-${i}`;
    const { exit, out } = await runOnce(t, ['--once', '--collector', c.url, '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', id, '--samples', '2', '--timeout-ms', '1000']);
    t.not(exit, null, `${body}: the agent exits on its own`);
    t.equal(exit?.code, 0, `${body}: and succeeds`);
    t.match(out, /000000000001-cccccccccccccccc\.json is not a report/, `${body}: says so`);
    t.same(spooled(spool), [], `${body}: the spool is empty`);
    t.equal(samplesOf(db, id).at(-1)?.seq, 2, `${body}: the new report (seq 2) is stored`);
  }
  await c.kill('SIGTERM');
});

t.test('bad spool files of every JSON type: moved to bad/, logged once, counted; the agent makes progress', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'collector.db');
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  const names: string[] = [];
  Object.values(BAD).forEach((body, i) => {
    const seq = i + 1;
    const name = `${String(seq).padStart(12, '0')}-cccccccccccccc${String(seq).padStart(2, '0')}.json`;
    writeFileSync(join(spool, name), body);
    names.push(name);
  });
  const c = await startCollector(t, { db });
  const args = ['--once', '--collector', c.url, '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', 'fault-badspool', '--samples', '2', '--timeout-ms', '1000'];

  const first = startAgent(t, args);
  // A hang (the old behaviour: 100 % CPU, SIGTERM ignored) shows as this wait running out.
  const exit = await Promise.race([first.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
  t.not(exit, null, 'the agent exits on its own', { output: first.out() });
  t.equal(exit?.code, 0, 'and succeeds: its own report was delivered');
  t.same(spooled(spool), [], 'no bad file is left in the spool');
  t.same(readdirSync(join(spool, 'bad')).sort(), [...names].sort(), 'every bad file is kept in bad/');
  for (const n of names) {
    const hits = first.out().split(`spool file ${n} `).length - 1;
    t.equal(hits, 1, `${n} (${readFileSync(join(spool, 'bad', n), 'utf8').slice(0, 20) || 'empty'}) logged once`);
  }
  const state = JSON.parse(readFileSync(join(spool, 'state.json'), 'utf8')) as { bad: number; dropped: number };
  t.equal(state.bad, names.length, 'counted as bad');
  t.equal(state.dropped, names.length, 'and as dropped (each was a report that will never arrive)');
  const rows = samplesOf(db, 'fault-badspool');
  t.equal(rows.length, 1, 'the new report is stored');
  t.ok((rows[0]?.seq ?? 0) > names.length, `with a seq after the bad files (${rows[0]?.seq})`);

  const second = startAgent(t, args);
  const exit2 = await Promise.race([second.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
  t.equal(exit2?.code, 0, 'a second run succeeds');
  t.notMatch(second.out(), /not a report/, 'and says nothing more about the bad files');
  await waitFor('two reports', () => samplesOf(db, 'fault-badspool').length === 2);
  t.ok(existsSync(join(spool, 'bad')), 'bad/ stays');
  await c.kill('SIGTERM');
});
