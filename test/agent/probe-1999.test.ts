/**
 * A guest clock before 2000 (libfaketime '@1999-12-25 12:00:00', monotonic left real) against a
 * real collector on 127.0.0.1: the probe must keep its samples (t1/t4 are the guest's clock, which
 * may read anything from the epoch on), and the collector must measure about −27 years and fail
 * the offset check — never "time exchange failed: no usable sample".
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { DEFAULT_POLICY, evaluate, measureReport } from '@clockwatch/shared';
import { fixtureRoot } from './helpers/paths.js';
import { cleanEnv, runCli } from './helpers/run-cli.js';
import { startTestCollector } from './helpers/test-collector.js';
import { tmpdir } from './helpers/tmp.js';

let faketime: string | null = null;
try {
  faketime = execFileSync('sh', ['-c', 'command -v faketime'], { encoding: 'utf8' }).trim() || null;
} catch {
  faketime = null;
}

const YEAR_MS = 365.25 * 86_400_000;

t.test('agent whose clock reads 1999-12-25: measured ≈ −27 years, offset fails', { skip: faketime ? false : 'faketime is not installed (Debian package faketime)' }, async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const res = await runCli(['--once', '--collector', c.url, '--spool', tmpdir(t), '--root', fixtureRoot('no-rtc'), '--samples', '4'], {
    command: [faketime!, '1999-12-25 12:00:00'],
    env: cleanEnv({ FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
  });
  t.equal(res.code, 0, res.stderr);
  t.equal(c.stored.length, 1, 'the report was delivered');
  const report = c.stored[0]!;
  const probe = report.timeProbe;
  t.ok('samples' in probe, `samples in the report: ${JSON.stringify(probe).slice(0, 300)}`);
  if (!('samples' in probe)) return;
  t.equal(probe.samples.length, 4, 'every sample kept');
  const expected = Date.UTC(1999, 11, 25, 12) - Date.now();
  const m = measureReport(report, { receivedAtMs: Date.now(), hostSynchronized: true });
  t.ok(m.offsetMs !== null && Math.abs(m.offsetMs - expected) < 60_000, `offset ${m.offsetMs} ms ≈ ${expected} ms`);
  t.ok(m.offsetMs! / YEAR_MS < -26.5 && m.offsetMs! / YEAR_MS > -27.5, `about −27 years (${(m.offsetMs! / YEAR_MS).toFixed(2)})`);
  const verdict = evaluate(report, m, DEFAULT_POLICY, Date.now());
  const offset = verdict.checks.find((x) => x.id === 'offset');
  t.equal(offset?.status, 'fail', offset?.reason ?? 'no offset check');
  t.match(offset?.reason, /years\)/, 'the reason shows the offset in years');
});
