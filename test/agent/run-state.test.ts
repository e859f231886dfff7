/**
 * The timer mode's clock state (run-state.ts): a step or suspend between two `--once` runs is
 * reported by the second run, as a resident agent would report it between two cycles; a reboot,
 * a missing or a bad state file compare nothing and lose nothing.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRunState, RUN_STATE_FILE, saveRunState, stepSinceLastRun } from '../../packages/agent/dist/run-state.js';
import { commandsDir, fixtureRoot } from './helpers/paths.js';
import { cleanEnv, runCli } from './helpers/run-cli.js';
import { startTestCollector } from './helpers/test-collector.js';

const BOOT = '0b1c2d3e-4f50-4617-8899-aabbccddeeff';

t.test('stepSinceLastRun: wall − monotonic progress beyond the threshold, same boot only', async (t) => {
  const prev = { version: 1 as const, bootId: BOOT, wallMs: 1_000_000, monoMs: 50_000 };
  t.equal(stepSinceLastRun(prev, { bootId: BOOT, wallMs: 1_060_000, monoMs: 110_000 }, 1000), null, 'a minute on both clocks: no step');
  t.same(stepSinceLastRun(prev, { bootId: BOOT, wallMs: 1_065_000, monoMs: 110_000 }, 1000), { kind: 'step', atMs: 1_065_000, stepMs: 5000 }, 'the wall clock jumped 5 s ahead');
  t.same(stepSinceLastRun(prev, { bootId: BOOT, wallMs: 1_060_000 + 3_600_000, monoMs: 110_000 }, 1000), { kind: 'step', atMs: 4_660_000, stepMs: 3_600_000 }, 'an hour suspended: monotonic did not count it');
  t.same(stepSinceLastRun(prev, { bootId: BOOT, wallMs: 1_058_000, monoMs: 110_000 }, 1000)?.stepMs, -2000, 'stepped back');
  t.equal(stepSinceLastRun(prev, { bootId: BOOT, wallMs: 1_060_800, monoMs: 110_000 }, 1000), null, 'within the threshold');
  t.equal(stepSinceLastRun(prev, { bootId: 'another-boot', wallMs: 1_065_000, monoMs: 10 }, 1000), null, 'after a reboot: nothing to compare');
  t.equal(stepSinceLastRun(prev, { bootId: BOOT, wallMs: 1_065_000, monoMs: 40_000 }, 1000), null, 'monotonic went back on the same boot (a copied file): nothing');
  t.equal(stepSinceLastRun(null, { bootId: BOOT, wallMs: 1, monoMs: 1 }, 1000), null, 'first run');
  t.equal(stepSinceLastRun({ ...prev, bootId: null }, { bootId: null, wallMs: 1_065_000, monoMs: 110_000 }, 1000), null, 'no boot id: never compared');
});

t.test('the state file: round trip, and bad files are ignored with a reason', async (t) => {
  const dir = t.testdir({});
  t.same(loadRunState(dir), { state: null, problem: null }, 'none yet: no problem');
  saveRunState(dir, { bootId: BOOT, wallMs: 123.5, monoMs: 456.25 });
  t.same(loadRunState(dir), { state: { version: 1, bootId: BOOT, wallMs: 123.5, monoMs: 456.25 }, problem: null });
  writeFileSync(path.join(dir, RUN_STATE_FILE), '{"version":1,"wallMs":"x"');
  t.match(loadRunState(dir), { state: null, problem: /not JSON/ });
  writeFileSync(path.join(dir, RUN_STATE_FILE), '{"version":7,"wallMs":1,"monoMs":2,"bootId":null}');
  t.match(loadRunState(dir), { state: null, problem: /not a clock state of this agent/ });
});

t.test('two --once runs: the second reports the step the clocks show since the first', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const dir = t.testdir({ token: 'tok\n' });
  const spool = path.join(dir, 'spool');
  const args = ['--once', '--collector', c.url, '--token-file', path.join(dir, 'token'), '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--replay', commandsDir('chrony-synced')];
  const first = await runCli(args, { env: cleanEnv() });
  t.equal(first.code, 0, first.stderr);
  t.same(c.stored[0]?.events ?? [], [], 'the first run has nothing to compare with');
  const file = path.join(spool, RUN_STATE_FILE);
  const kept = JSON.parse(readFileSync(file, 'utf8')) as { bootId: string | null; wallMs: number; monoMs: number };
  t.ok(kept.monoMs > 0 && kept.wallMs > 0, 'the first run kept its clocks in the spool');
  if (kept.bootId === null) {
    t.comment('no /proc/sys/kernel/random/boot_id here: steps across runs are not compared');
    return;
  }
  // As if the wall clock had been stepped 5 s back since the first run: move its reading 5 s ahead.
  writeFileSync(file, JSON.stringify({ ...kept, wallMs: kept.wallMs + 5000 }));
  const second = await runCli(args, { env: cleanEnv() });
  t.equal(second.code, 0, second.stderr);
  const events = c.stored[1]?.events ?? [];
  t.equal(events.length, 1, 'one step in the second report');
  t.ok(events[0] && events[0].stepMs < -4900 && events[0].stepMs > -5500, `−5 s (${events[0]?.stepMs} ms)`);
  const third = await runCli(args, { env: cleanEnv() });
  t.equal(third.code, 0);
  t.same(c.stored[2]?.events ?? [], [], 'reported once: the third run compares with the second');
});
