/**
 * The readers' file cache (packages/shared/src/node/ntp/file-cache.ts): a long-running agent reads
 * crontabs, timer units and pid files through it, one stat per file per cycle while they are
 * unchanged. Real files in temp dirs: an edit of the same size with the mtime put back, a timer
 * enabled, a file removed, a file changed within the last 2 s; and the cached readers' answers
 * equal to uncached reads on every fixture tree, a tree full of crontabs and timers, and this
 * machine's root.
 */
import t from 'tap';
import { mkdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, createReplayRunner, loadConfig, readClocksource, readNtp, silentLogger } from '@clockwatch/agent';
import { FileCache, readOneShotSync } from '@clockwatch/shared/node';
import { commandsDir, fixtureRoot, FIXTURE_ROOTS } from './helpers/paths.js';

const write = (root: string, file: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};

/** A cache whose clock is 10 s ahead: every file looks quiet for long, so only the stat key can tell a change. */
const keyOnly = () => new FileCache({ nowMs: () => Date.now() + 10_000 });

t.test('an edited crontab of the same size, its mtime put back, is read again', async (t) => {
  const root = t.testdir({});
  write(root, '/etc/cron.d/ntp', '*/5 * * * * root /usr/sbin/ntpdate -s ntp1.example\n');
  const file = path.join(root, '/etc/cron.d/ntp');
  // A whole second, as a filesystem with 1 s timestamps or `touch -d` leaves it.
  const mtimeS = Math.floor(Date.now() / 1000) - 30;
  utimesSync(file, mtimeS, mtimeS);
  const cache = keyOnly();
  t.match(await readOneShotSync(root, cache), { tool: 'ntpdate', intervalS: 300 });
  t.match(await readOneShotSync(root, cache), { tool: 'ntpdate', intervalS: 300 });
  t.equal(cache.counts.reads, 1, 'the second cycle is answered from memory');
  const before = statSync(file, { bigint: true });
  // Same size, same inode, the same mtime to the nanosecond (what an edit within one clock tick,
  // or `touch -d`, leaves): only the ctime the kernel stamps tells.
  writeFileSync(file, '*/6 * * * * root /usr/sbin/ntpdate -s ntp1.example\n');
  utimesSync(file, mtimeS, mtimeS);
  const after = statSync(file, { bigint: true });
  t.equal(after.size, before.size, 'same size');
  t.equal(after.ino, before.ino, 'same inode');
  t.equal(after.mtimeNs, before.mtimeNs, 'same mtime to the nanosecond');
  t.match(await readOneShotSync(root, cache), { intervalS: 360 }, 'the edit is seen on the next cycle');
  t.equal(cache.counts.reads, 2);
});

t.test('an enabled timer unit is seen on the next cycle; a removed crontab is gone from it', async (t) => {
  const root = t.testdir({});
  write(root, '/etc/cron.d/ntp', '@daily root /usr/sbin/ntpdate -s ntp1.example\n');
  mkdirSync(path.join(root, '/etc/systemd/system/timers.target.wants'), { recursive: true });
  const cache = keyOnly();
  t.match(await readOneShotSync(root, cache), { tool: 'ntpdate', schedule: '@daily', intervalS: 86400 });
  t.match(await readOneShotSync(root, cache), { schedule: '@daily' });
  write(root, '/usr/lib/systemd/system/sntp.timer', '[Timer]\nOnUnitActiveSec=5min\n');
  write(root, '/usr/lib/systemd/system/sntp.service', '[Service]\nExecStart=/usr/sbin/sntp -S ntp1.example\n');
  // systemctl enable: a symlink in timers.target.wants (a new entry: the directory's mtime changes).
  symlinkSync('/usr/lib/systemd/system/sntp.timer', path.join(root, '/etc/systemd/system/timers.target.wants/sntp.timer'));
  t.match(await readOneShotSync(root, cache), { tool: 'sntp', source: 'sntp.timer', intervalS: 300 }, 'the timer, more frequent, wins');
  rmSync(path.join(root, '/usr/lib/systemd/system/sntp.service'));
  t.match(await readOneShotSync(root, cache), { tool: 'ntpdate', schedule: '@daily' }, 'its service removed: the timer runs nothing known');
  rmSync(path.join(root, '/etc/cron.d/ntp'));
  t.equal(await readOneShotSync(root, cache), null, 'the crontab removed: nothing');
  write(root, '/etc/crontab', '*/10 * * * * root chronyc makestep\n');
  t.match(await readOneShotSync(root, cache), { tool: 'chronyc makestep', source: '/etc/crontab', intervalS: 600 }, 'a file that was absent appears');
});

t.test('a file changed less than 2 s before it was read is read again every cycle until it is quiet', async (t) => {
  const root = t.testdir({});
  write(root, '/etc/crontab', '*/5 * * * * root ntpdate ntp1.example\n');
  const ctimeMs = Number(statSync(path.join(root, '/etc/crontab'), { bigint: true }).ctimeNs / 1_000_000n);
  let nowMs = ctimeMs + 500;
  const cache = new FileCache({ nowMs: () => nowMs });
  for (let i = 0; i < 3; i++) await readOneShotSync(root, cache);
  t.equal(cache.counts.reads, 3, 'within 2 s of its change: read on every cycle');
  nowMs = ctimeMs + 2500;
  for (let i = 0; i < 3; i++) await readOneShotSync(root, cache);
  t.equal(cache.counts.reads, 4, 'quiet for 2 s: read once more, then from memory');
  nowMs = ctimeMs - 60_000;
  await readOneShotSync(root, new FileCache({ nowMs: () => nowMs }));
  const back = new FileCache({ nowMs: () => nowMs });
  for (let i = 0; i < 2; i++) await readOneShotSync(root, back);
  t.equal(back.counts.reads, 2, 'a clock stepped back behind the ctime: never trusted, read every cycle');
});

/** A tree with every kind of one-shot source the reader knows, and some that are not one. */
function richTree(root: string) {
  write(root, '/etc/crontab', 'SHELL=/bin/sh\n# m h dom mon dow user command\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n');
  write(root, '/etc/cron.d/ntp', '*/15 * * * * root /usr/sbin/ntpdate -s ntp1.example >/dev/null 2>&1\n');
  write(root, '/etc/cron.d/other', '0 3 * * * root /usr/bin/backup\n');
  write(root, '/etc/cron.d/.hidden', '* * * * * root ntpdate ntp0.example\n');
  write(root, '/etc/cron.d/ntp~', '* * * * * root ntpdate ntp0.example\n');
  write(root, '/var/spool/cron/crontabs/root', '@hourly chronyc -a makestep\n');
  write(root, '/etc/cron.daily/ntp', '#!/bin/sh\n# ntpdate comment\nexec sntp -S ntp2.example\n');
  write(root, '/etc/cron.hourly/empty', '');
  write(root, '/lib/systemd/system/sync.timer', '[Timer]\nOnCalendar=*:0/7\nUnit=sync-run.service\n');
  write(root, '/etc/systemd/system/sync-run.service', '[Service]\nExecStart=-/usr/sbin/chronyd -q "server ntp1.example iburst"\n');
  // The vendor copy of the same service, overridden by the one in /etc (systemd.unit(5) search path).
  write(root, '/usr/lib/systemd/system/sync-run.service', '[Service]\nExecStart=/usr/sbin/ntpdate ntp9.example\n');
  write(root, '/etc/systemd/system/masked.timer', '');
  write(root, '/etc/systemd/system/timers.target.wants/sync.timer', '');
  write(root, '/etc/systemd/system/timers.target.wants/masked.timer', '');
  write(root, '/etc/systemd/system/timers.target.wants/missing.timer', '');
  write(root, '/run/chrony/chronyd.pid', '999999\n');
}

t.test('cached readers answer exactly as uncached reads: every fixture tree, a tree of crontabs and timers, this machine', async (t) => {
  const rich = t.testdir({});
  richTree(rich);
  const replayOf: Record<string, string> = { 'kvm-guest': 'chrony-synced', 'rtc-localtime': 'timesyncd-synced', 'no-rtc': 'none', centos6: 'ntpd-el6-synced' };
  const roots: Array<[string, string, string]> = [...FIXTURE_ROOTS.map((r) => [r, fixtureRoot(r), replayOf[r]!] as [string, string, string]), ['crontabs and timers', rich, 'none'], ['this machine', '/', 'none']];
  for (const [name, root, replay] of roots) {
    const run = createReplayRunner(commandsDir(replay));
    // One instant for every read: chrony's lastSyncAgeS is counted from it.
    const nowMs = () => 1_796_000_000_000;
    const uncached = async () => JSON.stringify([await readNtp({ root, run, nowMs, daemonCache: {} }), await readClocksource(root), await readOneShotSync(root)]);
    const ctx = { root, run, nowMs, daemonCache: {}, fileCache: new FileCache(), cpuCache: {} };
    const trusting = { root, run, nowMs, daemonCache: {}, fileCache: keyOnly(), cpuCache: {} };
    const cached = async (c: typeof ctx) => JSON.stringify([await readNtp(c), await readClocksource(root, c.cpuCache), await readOneShotSync(root, c.fileCache)]);
    const want = await uncached();
    for (let cycle = 1; cycle <= 3; cycle++) {
      t.equal(await cached(ctx), want, `${name}: cycle ${cycle}, cache on the real clock`);
      t.equal(await cached(trusting), want, `${name}: cycle ${cycle}, every file trusted`);
    }
    t.ok(trusting.fileCache.counts.hits > 0 || name !== 'crontabs and timers', `${name}: answered from memory after the first cycle`);
  }
  const oneShot = JSON.parse(await (async () => JSON.stringify(await readOneShotSync(rich, keyOnly())))());
  t.same(oneShot, { tool: 'chronyd -q', command: '/usr/sbin/chronyd -q "server ntp1.example iburst"', source: 'sync.timer', schedule: 'OnCalendar=*:0/7', intervalS: 420 }, 'the tree holds a real answer: the timer through its Unit=, hidden and backup files skipped');
});

t.test('an Agent keeps one cache: its reports between edits equal a fresh agent\'s', async (t) => {
  const root = t.testdir({});
  // The no-rtc tree (no NTP daemon) plus a crontab, through symlinks: the fixture is never written.
  const base = fixtureRoot('no-rtc');
  for (const d of ['proc', 'sys', 'usr']) symlinkSync(path.join(base, d), path.join(root, d));
  mkdirSync(path.join(root, 'etc'));
  for (const f of ['os-release', 'timezone', 'hostname', 'machine-id']) symlinkSync(path.join(base, 'etc', f), path.join(root, 'etc', f));
  write(root, '/etc/cron.d/ntp', '*/5 * * * * root ntpdate ntp1.example\n');
  const make = () => {
    const r = loadConfig({ argv: ['--print', '--root', root, '--replay', commandsDir('none')], env: {}, readFile: () => '' });
    if (r.kind !== 'config') throw new Error('config');
    return Agent.create({ config: r.config, run: createReplayRunner(commandsDir('none')), log: silentLogger });
  };
  const kept = await make();
  const sections = async (a: Agent) => {
    const r = await a.print();
    return JSON.stringify({ clocksource: r.clocksource, ntp: r.ntp, timezone: r.timezone, os: r.os });
  };
  await sections(kept);
  t.equal(await sections(kept), await sections(await make()), 'unchanged tree');
  t.match(JSON.parse(await sections(kept)).ntp, { daemon: 'ntpdate', pollIntervalS: 300 });
  write(root, '/etc/cron.d/ntp', '*/9 * * * * root ntpdate ntp1.example\n');
  t.equal(await sections(kept), await sections(await make()), 'after an edit of the same size');
  t.match(JSON.parse(await sections(kept)).ntp, { pollIntervalS: 540 });
  rmSync(path.join(root, '/etc/cron.d/ntp'));
  t.equal(await sections(kept), await sections(await make()), 'after a removal');
  t.match(JSON.parse(await sections(kept)).ntp, { daemon: 'none' });
});
