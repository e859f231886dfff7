/**
 * The agent's clock 5 s ahead (libfaketime, monotonic clock left real: domain.md §10) against a
 * real collector on 127.0.0.1: the offset computed from the samples the collector received must be
 * +5000 ms within the stated uncertainty (RFC 5905 §8: θ ± δ/2 plus timestamp resolution).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { measureSamples, type Sample } from '@clockwatch/shared';
import { fixtureRoot } from './helpers/paths.js';
import { cleanEnv, runCli, startCli } from './helpers/run-cli.js';
import { startTestCollector } from './helpers/test-collector.js';
import { tmpdir } from './helpers/tmp.js';

let faketime: string | null = null;
try {
  faketime = execFileSync('sh', ['-c', 'command -v faketime'], { encoding: 'utf8' }).trim() || null;
} catch {
  faketime = null;
}

t.test('agent under faketime -f +5s: measured offset +5000 ms within the uncertainty', { skip: faketime ? false : 'faketime is not installed (Debian package faketime)' }, async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const res = await runCli(['--once', '--collector', c.url, '--spool', tmpdir(t), '--root', fixtureRoot('no-rtc'), '--samples', '8'], {
    command: [faketime!, '-f', '+5s'],
    env: cleanEnv({ FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
  });
  t.equal(res.code, 0, res.stderr);
  t.equal(c.stored.length, 1);
  const report = c.stored[0]!;
  const probe = report.timeProbe;
  t.ok('samples' in probe, 'samples in the report');
  if (!('samples' in probe)) return;
  const samples: Sample[] = probe.samples;
  t.equal(samples.length, 8);
  // The collector's own record of t2/t3 for the same t1s: the report carries what was exchanged.
  for (const s of samples) t.ok(c.timeRequests.some((r) => r.t1 === s.t1 && r.t2 === s.t2 && r.t3 === s.t3), 'sample matches the exchange');
  const m = measureSamples(samples, Math.max(probe.resolutionMs ?? 1, 0.001))!;
  t.ok(Math.abs(m.offsetMs - 5000) <= m.uncertaintyMs, `offset ${m.offsetMs.toFixed(3)} ms, 5000 within ±${m.uncertaintyMs.toFixed(3)} ms`);
  t.ok(m.uncertaintyMs < 50, 'a loopback exchange is tight');
  t.ok(Math.abs(report.systemTime.epochMs - Date.now() - 5000) < 3000, 'the report says the guest clock is ahead too');
  t.match(JSON.parse(res.stdout), { accepted: true });
  t.comment(`offset ${m.offsetMs.toFixed(3)} ms ± ${m.uncertaintyMs.toFixed(3)} ms (delay ${m.delayMs.toFixed(3)} ms, resolution ${probe.resolutionMs} ms)`);
});

/** libfaketime itself, for the timestamp-file mode (domain.md §10: a step at runtime without touching the system clock). */
function libfaketime(): string | null {
  for (const dir of ['/usr/lib/x86_64-linux-gnu/faketime', '/usr/lib/aarch64-linux-gnu/faketime', '/usr/lib/faketime', '/usr/lib64/faketime']) {
    const so = `${dir}/libfaketime.so.1`;
    if (existsSync(so)) return so;
  }
  return null;
}
const lib = libfaketime();

t.test('a +30 s step of the wall clock between cycles is an event in the next report', { skip: lib ? false : 'libfaketime.so.1 not found' }, async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const dir = tmpdir(t);
  const stamp = path.join(dir, 'faketime.rc');
  writeFileSync(stamp, '+0\n');
  const { child, done } = startCli(['--collector', c.url, '--interval', '1', '--spool', path.join(dir, 'spool'), '--root', fixtureRoot('no-rtc'), '--samples', '2'], {
    env: cleanEnv({ LD_PRELOAD: lib!, FAKETIME_TIMESTAMP_FILE: stamp, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
  });
  t.teardown(() => child.kill('SIGKILL'));
  const wait = async (cond: () => boolean) => {
    const end = Date.now() + 20_000;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  };
  await wait(() => c.stored.length >= 2);
  writeFileSync(stamp, '+30s\n');
  const before = c.stored.length;
  await wait(() => c.stored.slice(before).some((r) => r.events.length > 0));
  child.kill('SIGTERM');
  await done;
  t.same(c.stored.slice(0, before).flatMap((r) => r.events), [], 'no event before the step');
  const withEvent = c.stored.slice(before).find((r) => r.events.length > 0);
  t.ok(withEvent, 'a report after the step carries an event');
  if (!withEvent) return;
  t.equal(withEvent.events.length, 1);
  const ev = withEvent.events[0]!;
  t.equal(ev.kind, 'step');
  t.ok(Math.abs(ev.stepMs - 30_000) < 1000, `stepMs ${ev.stepMs}`);
  t.ok(c.stored.slice(before).filter((r) => r.events.length > 0).length === 1, 'reported once');
  const after = withEvent.timeProbe;
  if ('samples' in after) {
    const m = measureSamples(after.samples, Math.max(after.resolutionMs ?? 1, 0.001))!;
    t.ok(Math.abs(m.offsetMs - 30_000) <= m.uncertaintyMs + 1, `and the exchange sees the guest 30 s ahead (${m.offsetMs.toFixed(3)} ms)`);
  }
});
