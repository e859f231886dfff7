import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  chooseRtcDevice,
  parseAdjtime,
  parseHwclockShow,
  parseProcDriverRtc,
  parseSinceEpoch,
  parseSysconfigClock,
  readRtc,
  readRtcMode,
} from '@clockwatch/agent';
import type { RtcSection } from '@clockwatch/shared';
import { fixtureRoot } from './helpers/paths.js';
import { forbidden, replay, scripted } from './helpers/runners.js';

const NOW = Date.UTC(2026, 10, 25, 11, 36, 40);
const ctx = (root: string, run = forbidden().run) => ({ root, run, nowMs: () => NOW });

function ok(t: Test, r: RtcSection) {
  t.notOk('error' in r && r.error, 'rtc section has data');
  return r as Extract<RtcSection, { epochMs: number }>;
}

t.test('parseAdjtime follows systemd clock_is_localtime() exactly', async (t) => {
  t.same(parseAdjtime('0.0 0 0\n0\nLOCAL\n'), { mode: 'LOCAL', detail: 'line 3: LOCAL', hasLine3: true });
  t.same(parseAdjtime('0.000000 1795600000 0.000000\n1795600000\nUTC\n'), { mode: 'UTC', detail: 'line 3: UTC', hasLine3: true });
  t.equal(parseAdjtime('0.0 0 0\r\n0\r\nLOCAL\r\n').mode, 'LOCAL', 'CRLF');
  t.equal(parseAdjtime('0.0 0 0\n0\nLOCAL').mode, 'LOCAL', 'no final newline');
  t.same(parseAdjtime('0.0 0 0\n0\n'), { mode: 'UTC', detail: 'fewer than three lines: UTC by default', hasLine3: false });
  t.equal(parseAdjtime('').hasLine3, false);
  const lower = parseAdjtime('0.0 0 0\n0\nlocal\n');
  t.equal(lower.mode, 'UTC', 'comparison is case-sensitive (streq)');
  t.match(lower.detail, /not LOCAL/);
  t.equal(parseAdjtime('0.0 0 0\n0\n\n').mode, 'UTC', 'an empty third line is not LOCAL');
});

t.test('parseSysconfigClock reads the EL6 shell file', async (t) => {
  t.same(parseSysconfigClock('ZONE="America/New_York"\nUTC=true\n'), { zone: 'America/New_York', mode: 'UTC', utcRaw: 'true' });
  t.same(parseSysconfigClock('# comment\nZONE=Asia/Shanghai\nUTC=false\nARC=false\n'), { zone: 'Asia/Shanghai', mode: 'LOCAL', utcRaw: 'false' });
  t.same(parseSysconfigClock("ZONE='Europe/Berlin' # set by installer\n"), { zone: 'Europe/Berlin', mode: null, utcRaw: null });
  t.equal(parseSysconfigClock('UTC=maybe\n').mode, null);
});

t.test('chooseRtcDevice: hctosys=1, else rtc0, else the lowest', async (t) => {
  t.equal(chooseRtcDevice([{ device: 'rtc0', hctosys: false }, { device: 'rtc1', hctosys: true }]), 'rtc1');
  t.equal(chooseRtcDevice([{ device: 'rtc1', hctosys: false }, { device: 'rtc0', hctosys: false }]), 'rtc0');
  t.equal(chooseRtcDevice([{ device: 'rtc10', hctosys: null }, { device: 'rtc2', hctosys: null }]), 'rtc2');
  t.equal(chooseRtcDevice([]), null);
});

t.test('value parsers', async (t) => {
  t.equal(parseSinceEpoch('1795606593\n'), 1795606593);
  t.equal(parseSinceEpoch('-5\n'), null);
  t.equal(parseSinceEpoch('garbage'), null);
  t.equal(parseProcDriverRtc('rtc_time\t: 08:16:33\nrtc_date\t: 2026-11-25\n24hr\t\t: yes\n'), Date.UTC(2026, 10, 25, 8, 16, 33));
  t.equal(parseProcDriverRtc('rtc_time\t: 08:16:33\n'), null);
  t.equal(parseProcDriverRtc('rtc_time\t: 25:16:33\nrtc_date\t: 2026-11-25\n'), null);
  // util-linux ≥ 2.29 ISO output (format from hwclock.c strtimeval_iso; no RTC here to capture one).
  t.equal(parseHwclockShow('2026-11-25 08:16:33.123456+00:00\n'), Date.UTC(2026, 10, 25, 8, 16, 33) + 123.456);
  t.equal(parseHwclockShow('2026-11-25 16:16:33.000000+08:00\n'), Date.UTC(2026, 10, 25, 8, 16, 33));
  // Before 2.29 the whole second at the tick edge plus the correction back to hwclock's start.
  t.equal(parseHwclockShow('Wed Nov 25 08:16:33 2026  -0.329272 seconds\n'), Date.UTC(2026, 10, 25, 8, 16, 33) - 329.272);
  t.equal(parseHwclockShow('hwclock: Cannot access the Hardware Clock via any known method.\n'), null);
});

t.test('kvm-guest: sysfs rtc0 (hctosys), /etc/adjtime UTC', async (t) => {
  const r = ok(t, await readRtc(ctx(fixtureRoot('kvm-guest'))));
  t.equal(r.source, 'sysfs');
  t.equal(r.device, 'rtc0');
  t.equal(r.epochMs, 1795606593 * 1000);
  t.equal(r.epochMs, Date.UTC(2026, 10, 25, 11, 36, 33), 'since_epoch agrees with the date/time files');
  t.equal(r.readAtMs, NOW);
  t.equal(r.mode, 'UTC');
  const fixture = (f: string) => readFileSync(path.join(fixtureRoot('kvm-guest'), f), 'utf8');
  t.equal(parseProcDriverRtc(fixture('proc/driver/rtc')), r.epochMs, '/proc/driver/rtc shows the same fields');
  t.equal(r.modeSource, '/etc/adjtime');
  t.same(r.modeSources, [{ source: '/etc/adjtime', mode: 'UTC', detail: 'line 3: UTC' }]);
});

t.test('rtc-localtime: the RTC keeps local time (+8 h) and /etc/adjtime says LOCAL', async (t) => {
  const local = ok(t, await readRtc(ctx(fixtureRoot('rtc-localtime'))));
  const utc = ok(t, await readRtc(ctx(fixtureRoot('kvm-guest'))));
  t.equal(local.mode, 'LOCAL');
  t.equal(local.modeSource, '/etc/adjtime');
  t.equal(local.modeSources[0]?.detail, 'line 3: LOCAL');
  t.equal((local.epochMs - utc.epochMs) / 1000, 8 * 3600, 'both trees were captured at the same instant: the local RTC reads 8 h ahead');
});

t.test('no-rtc: an error section that still carries the configured mode', async (t) => {
  const r = await readRtc(ctx(fixtureRoot('no-rtc')));
  t.ok('error' in r);
  if (!('error' in r)) return;
  t.equal(r.error.code, 'CW_ERR_RTC_ABSENT');
  t.match(r.error.message, /\/sys\/class\/rtc does not exist/);
  t.match(r.error.message, /\/proc\/driver\/rtc does not exist/);
  t.notOk('epochMs' in r, 'no invented value');
  t.equal(r.mode, 'UTC');
  t.equal(r.modeSource, 'default');
  t.same(r.modeSources, [{ source: '/etc/adjtime', mode: null, detail: 'absent (hwclock and systemd then assume UTC)' }]);
});

t.test('centos6: both mode sources are reported', async (t) => {
  const r = ok(t, await readRtc(ctx(fixtureRoot('centos6'))));
  t.equal(r.epochMs, 1795606595000);
  t.same(r.modeSources.map((s) => [s.source, s.mode]), [
    ['/etc/adjtime', 'UTC'],
    ['/etc/sysconfig/clock', 'UTC'],
  ]);
});

t.test('the hctosys device wins over rtc0', async (t) => {
  const root = t.testdir({
    sys: { class: { rtc: { rtc0: { hctosys: '0\n', since_epoch: '1700000000\n' }, rtc1: { hctosys: '1\n', since_epoch: '1795606593\n' } } } },
  });
  const r = ok(t, await readRtc(ctx(root)));
  t.equal(r.device, 'rtc1');
  t.equal(r.epochMs, 1795606593000);
});

t.test('/proc/driver/rtc is the fallback', async (t) => {
  const root = t.testdir({ proc: { driver: { rtc: 'rtc_time\t: 08:16:33\nrtc_date\t: 2026-11-25\n' } } });
  const r = ok(t, await readRtc(ctx(root)));
  t.equal(r.source, 'proc');
  t.equal(r.epochMs, Date.UTC(2026, 10, 25, 8, 16, 33));
});

t.test('an RTC that holds a 1970 value is RTC_INVALID, not a number', async (t) => {
  const root = t.testdir({ sys: { class: { rtc: { rtc0: { hctosys: '1\n', since_epoch: '3\n' } } } } });
  const r = await readRtc(ctx(root));
  t.equal('error' in r && r.error.code, 'CW_ERR_RTC_INVALID');
});

t.test('adjtime decides; a conflicting /etc/sysconfig/clock is reported', async (t) => {
  const root = t.testdir({ etc: { adjtime: '0.0 0 0\n0\nLOCAL\n', sysconfig: { clock: 'ZONE="Asia/Shanghai"\nUTC=true\n' } } });
  const m = await readRtcMode(root);
  t.equal(m.mode, 'LOCAL');
  t.equal(m.modeSource, '/etc/adjtime');
  t.same(new Set(m.modeSources.map((s) => s.mode)), new Set(['LOCAL', 'UTC']), 'two distinct modes: the collector flags the conflict');
});

t.test('a short /etc/adjtime leaves the word to /etc/sysconfig/clock', async (t) => {
  const root = t.testdir({ etc: { adjtime: '0.0 0 0\n0\n', sysconfig: { clock: 'UTC=false\n' } } });
  const m = await readRtcMode(root);
  t.equal(m.mode, 'LOCAL');
  t.equal(m.modeSource, '/etc/sysconfig/clock');
});

t.test('hwclock: only when enabled and root; its failure is reported', async (t) => {
  const noRoot = forbidden();
  const r1 = await readRtc({ ...ctx(fixtureRoot('no-rtc')), run: noRoot.run }, { hwclock: true, isRoot: false });
  t.same(noRoot.calls, [], 'not run without root');
  t.match('error' in r1 && r1.error.message, /hwclock skipped \(needs root\)/);

  const rec = replay('hwclock-no-rtc');
  const r2 = await readRtc({ ...ctx(fixtureRoot('no-rtc')), run: rec.run }, { hwclock: true, isRoot: true });
  t.same(rec.calls, ['hwclock --show --utc --noadjfile']);
  t.equal('error' in r2 && r2.error.code, 'CW_ERR_RTC_ABSENT');
  t.match('error' in r2 && r2.error.message, /Cannot access the Hardware Clock via any known method/);

  const good = scripted({ 'hwclock --show --utc --noadjfile': { code: 0, stdout: '2026-11-25 08:16:33.500000+00:00\n', stderr: '' } });
  const r3 = ok(t, await readRtc({ ...ctx(fixtureRoot('no-rtc')), run: good.run }, { hwclock: true, isRoot: true }));
  t.equal(r3.source, 'hwclock');
  t.equal(r3.epochMs, Date.UTC(2026, 10, 25, 8, 16, 33) + 500);

  const off = forbidden();
  await readRtc({ ...ctx(fixtureRoot('no-rtc')), run: off.run }, { hwclock: false, isRoot: true });
  t.same(off.calls, [], 'not run when disabled');
});

t.test('hwclock: the reading is dated at the start of hwclock, not at its exit', async (t) => {
  // hwclock prints the RTC as of its start; here it takes 900 ms (waiting for the RTC tick). A
  // perfect RTC must read 0 s off, not −0.9 s.
  let clock = Date.UTC(2026, 10, 25, 8, 16, 33, 0);
  const run = async () => {
    clock += 900;
    return { code: 0, stdout: '2026-11-25 08:16:33.000000+00:00\n', stderr: '' };
  };
  const r = ok(t, await readRtc({ root: fixtureRoot('no-rtc'), run, nowMs: () => clock }, { hwclock: true, isRoot: true }));
  t.equal(r.epochMs - r.readAtMs, 0, `RTC − read time = ${r.epochMs - r.readAtMs} ms`);
});
