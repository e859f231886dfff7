/**
 * The NTP readers' diagnoses (issue "Diagnoses that hold up"): hidepid, ntpd's LOCAL(0) and leap
 * bits, periodic one-shot sync from cron and systemd timers, the kernel's timex via adjtimex.
 * Fixture trees under t.testdir, recorded command outputs through the replay runner.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createReplayRunner, ntpqToNtp, readNtp } from '@clockwatch/agent';
import { calendarIntervalS, cronIntervalS, detectNtpDaemons, parseAdjtimexPrint, parseCrontab, parseSystemdTimer, procHidepid, readOneShotSync } from '@clockwatch/shared/node';
import { commandsDir } from './helpers/paths.js';

const write = (root: string, file: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};

t.test('hidepid=2: a pid file whose process /proc hides is asked, not reported as "no daemon"', async (t) => {
  const root = t.testdir({});
  write(root, '/proc/mounts', 'proc /proc proc rw,nosuid,nodev,noexec,relatime,hidepid=2 0 0\n');
  write(root, '/run/chrony/chronyd.pid', '4242\n');
  // chronyd does not answer either: unknown, with the hidepid explanation.
  const down = await readNtp({ root, run: createReplayRunner(commandsDir('chrony-down')) });
  t.match(down, { daemon: 'chronyd', synchronized: null, statusError: { code: 'CW_ERR_DAEMON_DOWN', message: /hidepid/ } });
  // chronyc answers over UDP whatever hidepid hides: the real state.
  const up = await readNtp({ root, run: createReplayRunner(commandsDir('chrony-synced')) });
  t.match(up, { daemon: 'chronyd', synchronized: true });
});

t.test('hidepid with nothing visible is unknown; without hidepid it is "none"', async (t) => {
  const root = t.testdir({});
  write(root, '/proc/mounts', 'proc /proc proc rw,hidepid=invisible 0 0\n');
  write(root, '/proc/1/comm', 'systemd\n');
  const hidden = await readNtp({ root, run: createReplayRunner(commandsDir('chrony-down')) });
  t.match(hidden, { daemon: 'unknown', synchronized: null, statusError: { code: 'CW_ERR_PERMISSION' } });
  write(root, '/proc/mounts', 'proc /proc proc rw,nosuid 0 0\n');
  t.match(await readNtp({ root, run: createReplayRunner(commandsDir('chrony-down')) }), { daemon: 'none' });
  t.equal(procHidepid('proc /proc proc rw,hidepid=0 0 0\n'), null);
  t.equal(procHidepid('proc /proc proc rw,hidepid=2 0 0\n'), '2');
});

t.test('a long-running agent (daemon cache): hidepid with nothing visible stays unknown from cycle to cycle', async (t) => {
  // Cycle after cycle within the rescan window the answer comes from the cache, without reading
  // /proc or /proc/mounts again; it must still be "unknown" (hidepid), never "none" (free-running).
  const root = t.testdir({});
  write(root, '/proc/mounts', 'proc /proc proc rw,hidepid=invisible 0 0\n');
  write(root, '/proc/1/comm', 'systemd\n');
  let nowMs = 1_000_000;
  const ctx = { root, run: createReplayRunner(commandsDir('chrony-down')), daemonCache: {}, nowMs: () => nowMs };
  for (let cycle = 1; cycle <= 3; cycle++) {
    t.match(await readNtp(ctx), { daemon: 'unknown', statusError: { code: 'CW_ERR_PERMISSION', message: /hidepid/ } }, `cycle ${cycle}: unknown`);
    nowMs += 60_000;
  }
  // /proc remounted without hidepid: read again with the process list at the rescan (5 min).
  write(root, '/proc/mounts', 'proc /proc proc rw,nosuid 0 0\n');
  t.match(await readNtp(ctx), { daemon: 'unknown' }, 'within the rescan window: the answer of the last scan');
  nowMs += 300_000;
  t.match(await readNtp(ctx), { daemon: 'none' }, 'after the rescan: none');
  nowMs += 60_000;
  t.match(await readNtp(ctx), { daemon: 'none' }, 'and none from the cache after it');
  // A scan without a cache reads the mount every time (the one-shot reader, --print).
  write(root, '/proc/mounts', 'proc /proc proc rw,hidepid=2 0 0\n');
  t.same(await detectNtpDaemons(root), { daemons: [], via: 'hidden', processes: 1 });
});

t.test('ntpd: LOCAL(0) is free-running; leap bits; refid as the address', async (t) => {
  const local = ntpqToNtp('associd=0 status=0415 leap_none, sync_local, 1 event, clock_sync,\nleap=00, stratum=11, refid=LOCAL(0), tc=6, rootdelay=0.000, rootdisp=10.5,\n');
  t.match(local, { daemon: 'ntpd', synchronized: false, server: null, localReferenceOnly: true, leap: 'none' });
  const locl = ntpqToNtp('leap=00, stratum=11, refid=LOCL, tc=6\n');
  t.match(locl, { synchronized: false, localReferenceOnly: true });
  const el6 = await readNtp({ root: t.testdir({ run: { 'ntpd.pid': `${process.pid}\n` }, proc: { [String(process.pid)]: { comm: 'ntpd\n' } } }), run: createReplayRunner(commandsDir('ntpd-el6-synced')) });
  // The real EL6 capture has leap=01 (leap_add_sec): a leap second armed.
  t.match(el6, { daemon: 'ntpd', synchronized: true, leap: 'insert', serverAddress: '192.0.2.151' });
});

t.test('cron schedules: the longest gap between runs', async (t) => {
  t.equal(cronIntervalS(['*/5', '*', '*', '*', '*']), 300);
  t.equal(cronIntervalS(['0,5,10,15,20,25,30,35,40,45,50,55', '*', '*', '*', '*']), 300);
  t.equal(cronIntervalS(['7', '*', '*', '*', '*']), 3600);
  t.equal(cronIntervalS(['0', '*/6', '*', '*', '*']), 6 * 3600);
  t.equal(cronIntervalS(['0,30', '8-17', '*', '*', '*']), 14.5 * 3600, 'office hours only: 17:30 to 08:00 is the gap');
  t.equal(cronIntervalS(['0', '3', '*', '*', '1']), null, 'weekly is not a fixed daily period');
  const system = parseCrontab('SHELL=/bin/sh\n# comment\n*/5 * * * * root /usr/sbin/ntpdate -s ntp1.corp.example >/dev/null 2>&1\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n', '/etc/crontab', true);
  t.same(system, [{ tool: 'ntpdate', command: '/usr/sbin/ntpdate -s ntp1.corp.example >/dev/null 2>&1', source: '/etc/crontab', schedule: '*/5 * * * *', intervalS: 300 }]);
  const user = parseCrontab('@hourly chronyc -a makestep\n*/10 * * * * /usr/sbin/chronyd -q "server ntp1 iburst"\n', '/var/spool/cron/crontabs/root', false);
  t.match(user, [{ tool: 'chronyc makestep', intervalS: 3600 }, { tool: 'chronyd -q', intervalS: 600 }]);
  t.same(parseCrontab('*/5 * * * * root /usr/sbin/chronyd -d\n', '/etc/crontab', true), [], 'chronyd without -q is a daemon start, not a one-shot sync');
});

t.test('systemd timers: OnUnitActiveSec and OnCalendar', async (t) => {
  t.equal(calendarIntervalS('*:0/5'), 300);
  t.equal(calendarIntervalS('*-*-* *:00/15:00'), 900);
  t.equal(calendarIntervalS('hourly'), 3600);
  t.equal(calendarIntervalS('Mon *-*-* 03:00'), null);
  const s = parseSystemdTimer('[Timer]\nOnBootSec=1min\nOnUnitActiveSec=5min\n', '[Service]\nType=oneshot\nExecStart=/usr/sbin/sntp -S ntp1.corp.example\n', 'sntp.timer');
  t.same(s, { tool: 'sntp', command: '/usr/sbin/sntp -S ntp1.corp.example', source: 'sntp.timer', schedule: 'OnUnitActiveSec=5min', intervalS: 300 });
});

t.test('readNtp: no daemon but an enabled timer running ntpdate is that sync method, with its schedule', async (t) => {
  const root = t.testdir({});
  write(root, '/proc/mounts', 'proc /proc proc rw 0 0\n');
  write(root, '/etc/systemd/system/ntpdate-sync.timer', '[Timer]\nOnCalendar=*:0/5\n[Install]\nWantedBy=timers.target\n');
  write(root, '/etc/systemd/system/ntpdate-sync.service', '[Service]\nType=oneshot\nExecStart=/usr/sbin/ntpdate -b ntp1.corp.example\n');
  // Not enabled yet: not a sync method.
  t.equal(await readOneShotSync(root), null);
  write(root, '/etc/systemd/system/timers.target.wants/ntpdate-sync.timer', '');
  const n = await readNtp({ root, run: createReplayRunner(commandsDir('chrony-down')) });
  t.match(n, { daemon: 'ntpdate', synchronized: null, pollIntervalS: 300, oneShot: { tool: 'ntpdate', source: 'ntpdate-sync.timer', schedule: 'OnCalendar=*:0/5', intervalS: 300 } });
});

t.test('adjtimex --print: maxerror and the STA_INS / STA_DEL / STA_UNSYNC bits (linux/timex.h)', async (t) => {
  const text = '         mode: 0\n       offset: 0\n    frequency: -1230848\n     maxerror: 16000000\n     esterror: 16000000\n       status: 64\ntime_constant: 2\n';
  t.same(parseAdjtimexPrint(text), { maxErrorMs: 16000, leap: 'none', unsync: true });
  t.same(parseAdjtimexPrint(text.replace('status: 64', 'status: 17')), { maxErrorMs: 16000, leap: 'insert', unsync: false });
  t.same(parseAdjtimexPrint(text.replace('status: 64', 'status: 33')), { maxErrorMs: 16000, leap: 'delete', unsync: false });
  t.equal(parseAdjtimexPrint('nothing'), null);
});
