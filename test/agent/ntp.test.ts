import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  chronyToNtp,
  daemonsFromComms,
  detectNtpDaemons,
  ntpqToNtp,
  parseChronyCsv,
  parseNtpqVars,
  parseSystemdTimestamp,
  parseTimespanS,
  readChrony,
  readNtp,
  readNtpd,
  readTimesyncd,
  refIdText,
  timesyncdToNtp,
} from '@clockwatch/agent';
import type { NtpSection } from '@clockwatch/shared';
import { commandsDir, fixtureRoot } from './helpers/paths.js';
import { forbidden, replay } from './helpers/runners.js';

const rec = (c: string, f: string) => readFileSync(path.join(commandsDir(c), f), 'utf8');
const CHRONY = 'chronyc_-c_-m_tracking_sources.out';
const close = (t: Test, a: number | null | undefined, b: number, eps = 1e-9, msg?: string) => t.ok(typeof a === 'number' && Math.abs(a - b) <= eps, `${msg ?? ''} ${a} ≈ ${b}`);

t.test('chrony CSV (captured from chronyd 4.3): synchronised', async (t) => {
  const { tracking, sources } = parseChronyCsv(rec('chrony-synced', CHRONY));
  t.match(tracking, { refId: '7F000001', address: '127.0.0.1', stratum: 6, leap: 'Normal', systemTimeS: -0.000001246 });
  t.equal(sources.length, 1);
  t.match(sources[0], { mode: '^', state: '*', address: '127.0.0.1', stratum: 5, poll: -4, reach: 0o377, lastRxS: 0 });
  const nowMs = tracking!.refTimeS * 1000 + 2500;
  const n = chronyToNtp(tracking!, sources, nowMs);
  t.match(n, { daemon: 'chronyd', synchronized: true, server: '127.0.0.1', stratum: 6, pollIntervalS: 0.0625 });
  close(t, n.offsetMs, 0.001246, 1e-9, 'guest − NTP: the text form says "fast", so positive');
  close(t, n.lastSyncAgeS, 2.5, 1e-3);
  close(t, n.maxErrorMs, (0.000001246 + 0.000000373 + 0.000005884 / 2) * 1000, 1e-9, 'chronyc(1) bound');
  // The same moment's text form: the sign of the CSV matches the words.
  t.match(rec('chrony-synced', 'chronyc_tracking.txt'), /System time\s+: 0\.000001246 seconds fast of NTP time/);
});

t.test('chrony CSV (captured): unsynchronised right after start', async (t) => {
  const { tracking, sources } = parseChronyCsv(rec('chrony-unsynced', CHRONY));
  const n = chronyToNtp(tracking!, sources, Date.UTC(2026, 10, 25));
  t.same(n, {
    daemon: 'chronyd',
    synchronized: false,
    server: null,
    stratum: null,
    offsetMs: null,
    lastSyncAgeS: null,
    pollIntervalS: null,
    maxErrorMs: null,
    serverName: null,
    serverAddress: null,
    sources: { total: 1, reachable: 0, selectable: 0 },
    leap: 'unsynchronised',
  });
  t.equal(sources[0]?.lastRxS, null, '4294967295 means never');
});

t.test('chrony CSV (domain.md captures)', async (t) => {
  const s = parseChronyCsv(rec('chrony-domain-synced', CHRONY));
  const n = chronyToNtp(s.tracking!, s.sources, 1795606593424.907 + 10_000);
  t.match(n, { synchronized: true, stratum: 6, pollIntervalS: 2 });
  close(t, n.offsetMs, 0.002175, 1e-9);
  close(t, n.lastSyncAgeS, 10, 1e-3);
  const u = parseChronyCsv(rec('chrony-domain-unsynced', CHRONY));
  t.equal(chronyToNtp(u.tracking!, u.sources, 0).synchronized, false);
  t.equal(refIdText('50484330'), 'PHC0');
  t.equal(refIdText('7F000001'), null);
});

t.test('readChrony: one process, the configured command port, failures as statusError', async (t) => {
  const synced = replay('chrony-synced');
  const n = await readChrony({ root: '/', run: synced.run, nowMs: () => 1795610370249 + 1000 });
  // The second process asks the configured name of the address in use (chronyc sourcename); not recorded here, so no name.
  t.same(synced.calls, ['chronyc -c -m tracking sources', 'chronyc -c sourcename 127.0.0.1']);
  t.equal(n.synchronized, true);

  const port = replay('chrony-synced');
  await readChrony({ root: '/', run: port.run, chrony: { host: '127.0.0.1', port: 11323 } });
  t.same(port.calls, ['chronyc -h 127.0.0.1 -p 11323 -c -m tracking sources']);

  const down = await readChrony({ root: '/', run: replay('chrony-down').run });
  t.match(down, { daemon: 'chronyd', synchronized: null, statusError: { code: 'CW_ERR_DAEMON_DOWN', message: 'chronyc: 506 Cannot talk to daemon' } });

  const missing = await readChrony({ root: '/', run: replay('timesyncd-synced').run });
  t.match(missing, { statusError: { code: 'CW_ERR_NOT_FOUND' } });

  const old = replay('chrony-no-multi');
  const o = await readChrony({ root: '/', run: old.run, nowMs: () => 1795610371000 });
  t.same(old.calls, ['chronyc -c -m tracking sources', 'chronyc -c tracking', 'chronyc -c sources', 'chronyc -c sourcename 127.0.0.1'], 'falls back to one command per process');
  t.match(o, { synchronized: true, server: '127.0.0.1', pollIntervalS: 0.0625 });
});

t.test('systemd timespans and timestamps', async (t) => {
  t.equal(parseTimespanS('17min 4s'), 1024);
  t.equal(parseTimespanS('34min 8s'), 2048);
  close(t, parseTimespanS('8.926ms'), 0.008926);
  close(t, parseTimespanS('30.517us'), 0.000030517);
  t.equal(parseTimespanS('1h 2min'), 3720);
  t.equal(parseTimespanS('infinity'), null);
  t.equal(parseTimespanS('soon'), null);
  t.equal(parseSystemdTimestamp('Wed 2026-11-25 08:16:40 UTC'), Date.UTC(2026, 10, 25, 8, 16, 40));
  t.equal(parseSystemdTimestamp('Wed 2026-11-25 16:16:40 +08:00'), Date.UTC(2026, 10, 25, 8, 16, 40));
  t.equal(parseSystemdTimestamp('Fri 2023-09-15 10:05:40 CEST'), null, 'abbreviations are never parsed');
});

t.test('systemd-timesyncd', async (t) => {
  const r = replay('timesyncd-synced');
  const n = await readTimesyncd({ root: '/', run: r.run, nowMs: () => Date.UTC(2026, 10, 25) });
  t.same(r.calls, ['timedatectl show', 'timedatectl show-timesync'], 'two processes');
  t.match(n, { daemon: 'systemd-timesyncd', synchronized: true, server: 'ntp.ubuntu.com', stratum: 2, offsetMs: null, pollIntervalS: 1024 });
  close(t, n.maxErrorMs, 8.926 / 2 + 1.77, 1e-9, 'root distance');
  t.equal(n.lastSyncAgeS, null, 'a CEST timestamp is not guessed at');

  const utcText = rec('timesyncd-synced', 'timedatectl_show-timesync.out').replace(/CEST/g, 'UTC');
  const u = timesyncdToNtp(rec('timesyncd-synced', 'timedatectl_show.out'), utcText, Date.UTC(2023, 8, 15, 10, 6, 40));
  t.equal(u.lastSyncAgeS, 60, 'with TZ=UTC (as the runner runs it) the last sync age is known');

  const nosd = replay('timesyncd-no-systemd');
  const d = await readTimesyncd({ root: '/', run: nosd.run });
  t.same(nosd.calls, ['timedatectl show'], 'no second process when the first failed');
  t.match(d, { synchronized: null, statusError: { code: 'CW_ERR_COMMAND_FAILED', message: /System has not been booted with systemd as init system/ } });
});

t.test('ntpd through ntpq -c rv', async (t) => {
  const el6 = ntpqToNtp(rec('ntpd-el6-synced', 'ntpq_-n_-c_rv.out'))!;
  t.match(el6, { daemon: 'ntpd', synchronized: true, server: '192.0.2.151', stratum: 3, pollIntervalS: 1024 });
  close(t, el6.offsetMs, -0.073, 1e-9, 'ntpd offset is server − guest');
  close(t, el6.lastSyncAgeS, 0xd59ba39e - 0xd59b9d48 + (0x61ba5ac8 - 0xef695513) / 2 ** 32, 1e-3, 'clock − reftime');
  close(t, el6.maxErrorMs, 15.668 / 2 + 59.025, 1e-9, 'rootdispersion (4.2.4 name)');

  const v428 = ntpqToNtp(rec('ntpd-4.2.8-synced', 'ntpq_-n_-c_rv.out'))!;
  t.match(v428, { synchronized: true, server: '10.204.32.110', stratum: 4, pollIntervalS: 64 });
  close(t, v428.offsetMs, -2.729);
  close(t, v428.maxErrorMs, 84.332 / 2 + 60.253, 1e-9, 'rootdisp (4.2.8 name)');

  const uns = ntpqToNtp(rec('ntpd-unsynced', 'ntpq_-n_-c_rv.out'))!;
  t.match(uns, { synchronized: false, server: null, stratum: null, offsetMs: null, lastSyncAgeS: null, maxErrorMs: null, pollIntervalS: 8 });
  const el5 = ntpqToNtp(rec('ntpd-el5-unsynced', 'ntpq_-n_-c_rv.out'))!;
  t.match(el5, { synchronized: false, server: null, lastSyncAgeS: null });
  t.match(parseNtpqVars(rec('ntpd-el6-synced', 'ntpq_-n_-c_rv.out')), { version: 'ntpd 4.2.4p8@1.1612-o Thu Jan 10 15:17:40 UTC 2013 (1)', leap: '01' });

  const down = await readNtpd({ root: '/', run: replay('ntpd-down').run });
  t.match(down, { daemon: 'ntpd', synchronized: null, statusError: { code: 'CW_ERR_DAEMON_DOWN', message: /Connection refused/ } });
  const calls = replay('ntpd-el6-synced');
  await readNtpd({ root: '/', run: calls.run });
  t.same(calls.calls, ['ntpq -n -c rv']);
});

t.test('which daemon runs', async (t) => {
  t.same(daemonsFromComms(['systemd\n', 'chronyd\n', 'sshd']), ['chronyd']);
  t.same(daemonsFromComms(['systemd-timesyn']), ['systemd-timesyncd'], 'comm is cut at 15 characters');
  t.same(daemonsFromComms(['systemd-timesyn', 'chronyd']), ['chronyd', 'systemd-timesyncd'], 'chronyd first when both run');
  t.same((await detectNtpDaemons(fixtureRoot('kvm-guest'))).daemons, ['chronyd']);
  t.same((await detectNtpDaemons(fixtureRoot('rtc-localtime'))).daemons, ['systemd-timesyncd']);
  t.same((await detectNtpDaemons(fixtureRoot('centos6'))).daemons, ['ntpd']);
  t.same(await detectNtpDaemons(fixtureRoot('no-rtc')), { daemons: [], via: 'none', processes: 2 });
  const hidden = t.testdir({ run: { chrony: { 'chronyd.pid': '4242\n' } }, proc: { '4242': { stat: '4242 (chronyd) S 1' } } });
  t.same((await detectNtpDaemons(hidden)).daemons, ['chronyd'], 'hidepid: the pid file still tells');
  const stale = t.testdir({ run: { 'ntpd.pid': '999\n' }, proc: {} });
  t.same((await detectNtpDaemons(stale)).daemons, [], 'a stale pid file is not a running daemon');
});

t.test('readNtp asks only the daemon that runs', async (t) => {
  const none = forbidden();
  const n: NtpSection = await readNtp({ root: fixtureRoot('no-rtc'), run: none.run });
  t.same(n, { daemon: 'none', synchronized: null, server: null, stratum: null, offsetMs: null, lastSyncAgeS: null, pollIntervalS: null, maxErrorMs: null });
  t.same(none.calls, [], 'no daemon, no process');
  const chrony = replay('chrony-synced');
  const cache = {};
  t.match(await readNtp({ root: fixtureRoot('kvm-guest'), run: chrony.run, daemonCache: cache }), { daemon: 'chronyd', synchronized: true });
  t.equal(chrony.calls.length, 2, 'tracking + sources, then the name of the address in use');
  await readNtp({ root: fixtureRoot('kvm-guest'), run: chrony.run, daemonCache: cache });
  t.equal(chrony.calls.length, 3, 'the name is asked once per address: one process per later read');
  const ntpd = replay('ntpd-el6-synced');
  t.match(await readNtp({ root: fixtureRoot('centos6'), run: ntpd.run }), { daemon: 'ntpd', synchronized: true, stratum: 3 });
  const sd = replay('timesyncd-synced');
  t.match(await readNtp({ root: fixtureRoot('rtc-localtime'), run: sd.run }), { daemon: 'systemd-timesyncd', synchronized: true });
  t.equal(sd.calls.length, 2);
  const other = await readNtp({ root: t.testdir({ proc: { '7': { comm: 'htpdate\n' } } }), run: forbidden().run });
  t.match(other, { daemon: 'htpdate', synchronized: null, statusError: { code: 'CW_ERR_UNSUPPORTED' } });
});
