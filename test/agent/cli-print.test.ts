/** `clockwatch-agent --print` as a process: every fixture tree, recorded commands, this machine. */
import t, { type Test } from 'tap';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { isOk, validateReport, type Report } from '@clockwatch/shared';
import { AGENT_VERSION } from '@clockwatch/agent';
import { commandsDir, fixtureRoot, FIXTURE_ROOTS, repoRoot } from './helpers/paths.js';
import { runCli } from './helpers/run-cli.js';

function report(t: Test, stdout: string): Report {
  const r = JSON.parse(stdout) as Report;
  const v = validateReport(r);
  t.ok(v.ok, v.ok ? 'schema v1 accepts the report' : `schema: ${v.message}`);
  return r;
}

const REPLAY: Record<(typeof FIXTURE_ROOTS)[number], string> = {
  'kvm-guest': 'chrony-synced',
  'rtc-localtime': 'timesyncd-synced',
  'no-rtc': 'none',
  centos6: 'ntpd-el6-synced',
};

t.test('--print --root <fixture>: the facts of each tree', async (t) => {
  const facts = (r: Report) => ({ cs: isOk(r.clocksource) && r.clocksource.current, rtcMode: r.rtc.mode, rtc: isOk(r.rtc) && r.rtc.epochMs, tz: isOk(r.timezone) && r.timezone.name, ntp: isOk(r.ntp) && r.ntp.daemon });
  const expected: Record<string, unknown> = {
    'kvm-guest': { cs: 'kvm-clock', rtcMode: 'UTC', rtc: 1795606593000, tz: 'Europe/Berlin', ntp: 'chronyd' },
    'rtc-localtime': { cs: 'kvm-clock', rtcMode: 'LOCAL', rtc: 1795635393000, tz: 'Asia/Shanghai', ntp: 'systemd-timesyncd' },
    'no-rtc': { cs: 'tsc', rtcMode: 'UTC', rtc: false, tz: 'Etc/UTC', ntp: 'none' },
    centos6: { cs: 'kvm-clock', rtcMode: 'UTC', rtc: 1795606595000, tz: 'America/New_York', ntp: 'ntpd' },
  };
  for (const root of FIXTURE_ROOTS) {
    const res = await runCli(['--print', '--root', fixtureRoot(root)]);
    t.equal(res.code, 0, `${root}: exit 0`);
    t.equal(res.stderr, '', `${root}: nothing on stderr`);
    const r = report(t, res.stdout);
    t.same(facts(r), expected[root], `${root}: clocksource, RTC, zone, NTP daemon`);
    t.match(r.timeProbe, { error: { code: 'CW_ERR_PROBE_SKIPPED' } }, `${root}: no network`);
  }
  const noRtc = report(t, (await runCli(['--print', '--root', fixtureRoot('no-rtc')])).stdout);
  t.match(noRtc.rtc, { error: { code: 'CW_ERR_RTC_ABSENT' }, mode: 'UTC', modeSource: 'default' });
});

t.test('--print --root <fixture> --replay <recorded commands>: NTP facts too', async (t) => {
  const kvm = report(t, (await runCli(['--print', '--root', fixtureRoot('kvm-guest'), '--replay', commandsDir(REPLAY['kvm-guest'])])).stdout);
  t.match(kvm.ntp, { daemon: 'chronyd', synchronized: true, server: '127.0.0.1', stratum: 6, pollIntervalS: 0.0625 });
  const local = report(t, (await runCli(['--print', '--root', fixtureRoot('rtc-localtime'), '--replay', commandsDir(REPLAY['rtc-localtime'])])).stdout);
  t.match(local.ntp, { daemon: 'systemd-timesyncd', synchronized: true, server: 'ntp.ubuntu.com', stratum: 2 });
  const el6 = report(t, (await runCli(['--print', '--root', fixtureRoot('centos6'), '--replay', commandsDir(REPLAY.centos6)])).stdout);
  t.match(el6.ntp, { daemon: 'ntpd', synchronized: true, server: '192.0.2.151', stratum: 3, offsetMs: -0.073 });
  t.match(el6.timezone, { name: 'America/New_York', source: '/etc/localtime content', matches: ['America/New_York', 'US/Eastern'] });
  t.match(el6.agent, { id: 'b5e2c4a6d8f04e1a9c3b5d7f9e1a3c5b', idSource: 'machine-id', hostname: 'legacy-db-02.example.com' });
  t.match(el6.os, { distro: 'CentOS', release: '6.10', virtualization: 'kvm' });
});

t.test('--print on this machine', async (t) => {
  const res = await runCli(['--print']);
  t.equal(res.code, 0);
  const r = report(t, res.stdout);
  const cs = '/sys/devices/system/clocksource/clocksource0/current_clocksource';
  if (existsSync(cs)) t.match(r.clocksource, { current: readFileSync(cs, 'utf8').trim() }, 'the kernel clocksource');
  if (!existsSync('/sys/class/rtc') && !existsSync('/proc/driver/rtc')) {
    t.match(r.rtc, { error: { code: 'CW_ERR_RTC_ABSENT' } }, 'no RTC: an error section, not a number');
    t.notOk('epochMs' in r.rtc);
  }
  try {
    const target = readlinkSync('/etc/localtime');
    t.equal(isOk(r.timezone) && r.timezone.name, target.split('/zoneinfo/')[1], 'the real zone');
  } catch {
    t.comment('/etc/localtime is not a symlink here');
  }
  t.equal(r.agent.version, AGENT_VERSION);
  t.ok(Math.abs(r.systemTime.epochMs - Date.now()) < 10_000, 'collected now');
});

t.test('--version and --help; the package version', async (t) => {
  const v = await runCli(['--version']);
  t.equal(v.stdout, `clockwatch-agent ${AGENT_VERSION}\n`);
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'packages/agent/package.json'), 'utf8')) as { version: string };
  t.equal(AGENT_VERSION, pkg.version);
  t.match((await runCli(['--help'])).stdout, /--collector URL/);
  t.match(readFileSync(path.join(repoRoot, 'packages/agent/dist/cli.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'shebang');
});
