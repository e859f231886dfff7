import t, { type Test } from 'tap';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import {
  decideTimezone,
  parseEtcTimezone,
  parsePosixTz,
  parseTzif,
  posixTzAt,
  readTimezone,
  realpathUnderRoot,
  tzifAt,
  zoneFromTzEnv,
  zoneNameFromPath,
} from '@clockwatch/agent';
import { zoneOffsetS, type TimezoneSection } from '@clockwatch/shared';
import { fixtureRoot } from './helpers/paths.js';
import { forbidden } from './helpers/runners.js';

const JAN = Date.UTC(2026, 0, 15, 12);
const JUL = Date.UTC(2026, 6, 15, 12);
const SYS_ZONEINFO = '/usr/share/zoneinfo';
const zoneFile = (name: string) => readFileSync(path.join(SYS_ZONEINFO, name));
const ctx = (root: string, env: Record<string, string> = {}) => ({ root, run: forbidden().run, env });

function data(t: Test, s: TimezoneSection) {
  t.notOk('error' in s && s.error, 'timezone section has data');
  return s as Extract<TimezoneSection, { offsetS: number }>;
}

t.test('TZif reader agrees with Intl month by month, 1990–2045 (transition table and POSIX footer)', async (t) => {
  for (const zone of ['Europe/Berlin', 'America/New_York', 'Asia/Shanghai', 'Australia/Sydney', 'America/Sao_Paulo', 'Asia/Kolkata', 'Etc/UTC']) {
    let tz;
    try {
      tz = parseTzif(zoneFile(zone));
    } catch {
      t.comment(`${zone}: no system zoneinfo`);
      continue;
    }
    t.ok(tz, `${zone} parses`);
    let mismatches = 0;
    for (let y = 1990; y <= 2045; y++) {
      for (let m = 0; m < 12; m++) {
        const at = Date.UTC(y, m, 10, 12);
        if (tzifAt(tz!, at)?.utoffS !== zoneOffsetS(zone, at)) mismatches++;
      }
    }
    t.equal(mismatches, 0, `${zone}: no month where the file and Intl disagree`);
  }
});

t.test('POSIX TZ strings (RFC 8536 §3.3)', async (t) => {
  const berlin = parsePosixTz('CET-1CEST,M3.5.0,M10.5.0/3')!;
  t.match(berlin, { std: 'CET', stdOffS: 3600, dst: 'CEST', dstOffS: 7200 });
  t.same(posixTzAt(berlin, JUL), { utoffS: 7200, isDst: true, abbreviation: 'CEST' });
  t.same(posixTzAt(berlin, JAN), { utoffS: 3600, isDst: false, abbreviation: 'CET' });
  // DST starts on the last Sunday of March 2040 (March 25) at 01:00 UTC.
  t.equal(posixTzAt(berlin, Date.UTC(2040, 2, 25, 0, 59)).utoffS, 3600);
  t.equal(posixTzAt(berlin, Date.UTC(2040, 2, 25, 1, 0)).utoffS, 7200);
  const sydney = parsePosixTz('AEST-10AEDT,M10.1.0,M4.1.0/3')!;
  t.equal(posixTzAt(sydney, JAN).utoffS, 39600, 'southern hemisphere: DST in January');
  t.equal(posixTzAt(sydney, JUL).utoffS, 36000);
  t.same(posixTzAt(parsePosixTz('<+0530>-5:30')!, JUL), { utoffS: 19800, isDst: false, abbreviation: '+0530' });
  t.equal(parsePosixTz('not a tz'), null);
});

t.test('zone names from paths', async (t) => {
  t.same(zoneNameFromPath('/usr/share/zoneinfo/Europe/Berlin'), { name: 'Europe/Berlin', right: false });
  t.same(zoneNameFromPath('../usr/share/zoneinfo/posix/Asia/Shanghai'), { name: 'Asia/Shanghai', right: false });
  t.same(zoneNameFromPath('/usr/share/zoneinfo/right/UTC'), { name: 'UTC', right: true });
  t.equal(zoneNameFromPath('/etc/custom-zone'), null);
  t.equal(parseEtcTimezone('# set by installer\nAsia/Tokyo\n'), 'Asia/Tokyo');
  t.equal(parseEtcTimezone('bad zone name\n'), null);
  t.same(zoneFromTzEnv(':Europe/Berlin'), { name: 'Europe/Berlin', detail: 'TZ=:Europe/Berlin' });
  t.equal(zoneFromTzEnv(':/etc/localtime').name, null);
  t.equal(zoneFromTzEnv('EST+5').name, null);
});

t.test('kvm-guest: absolute symlink to Europe/Berlin, resolved under the root', async (t) => {
  const jul = data(t, await readTimezone(ctx(fixtureRoot('kvm-guest')), JUL));
  t.match(jul, { name: 'Europe/Berlin', offsetS: 7200, abbreviation: 'CEST', dst: true, source: '/etc/localtime symlink', disagreements: [] });
  t.same(jul.sources.map((s) => [s.source, s.name]), [
    ['/etc/localtime symlink', 'Europe/Berlin'],
    ['/etc/localtime realpath', 'Europe/Berlin'],
    ['/etc/timezone', 'Europe/Berlin'],
  ]);
  const jan = data(t, await readTimezone(ctx(fixtureRoot('kvm-guest')), JAN));
  t.match(jan, { offsetS: 3600, abbreviation: 'CET', dst: false });
});

t.test('rtc-localtime: relative symlink to Asia/Shanghai', async (t) => {
  const s = data(t, await readTimezone(ctx(fixtureRoot('rtc-localtime')), JUL));
  t.match(s, { name: 'Asia/Shanghai', offsetS: 28800, abbreviation: 'CST', dst: false, source: '/etc/localtime symlink', disagreements: [] });
});

t.test('centos6: copied /etc/localtime named by content, every match reported', async (t) => {
  const s = data(t, await readTimezone(ctx(fixtureRoot('centos6')), JAN));
  t.match(s, { name: 'America/New_York', offsetS: -18000, abbreviation: 'EST', dst: false, source: '/etc/localtime content', disagreements: [] });
  t.same(s.matches, ['America/New_York', 'US/Eastern'], 'posixrules and posix/ are not zone names');
  t.same(s.sources.map((x) => [x.source, x.name]), [
    ['/etc/localtime content', 'America/New_York'],
    ['/etc/sysconfig/clock', 'America/New_York'],
  ]);
  const summer = data(t, await readTimezone(ctx(fixtureRoot('centos6')), JUL));
  t.match(summer, { offsetS: -14400, abbreviation: 'EDT', dst: true });
});

t.test('a copied file without hints: the canonical name (zone.tab) leads, the alias stays listed', async (t) => {
  const ny = zoneFile('America/New_York');
  const root = t.testdir({
    etc: { localtime: ny },
    usr: { share: { zoneinfo: { America: { New_York: ny }, US: { Eastern: ny }, 'zone.tab': 'US\t+404251-0740023\tAmerica/New_York\tEastern (most areas)\n' } } },
  });
  const s = data(t, await readTimezone(ctx(root), JAN));
  t.equal(s.name, 'America/New_York');
  t.same(s.matches, ['America/New_York', 'US/Eastern']);
});

t.test('a copied file that matches nothing: no name, offset from the file itself', async (t) => {
  const root = t.testdir({ etc: { localtime: zoneFile('Asia/Tokyo') }, usr: { share: { zoneinfo: { Etc: { UTC: zoneFile('Etc/UTC') } } } } });
  const s = data(t, await readTimezone(ctx(root), JUL));
  t.match(s, { name: null, offsetS: 32400, abbreviation: 'JST', dst: false, source: '/etc/localtime content' });
  t.match(s.sources[0]?.detail, /matching no file/);
});

t.test('disagreements between sources are listed', async (t) => {
  const root = t.testdir({
    etc: { localtime: t.fixture('symlink', '/usr/share/zoneinfo/Europe/Berlin'), timezone: 'Europe/Paris\n' },
    usr: { share: { zoneinfo: { Europe: { Berlin: zoneFile('Europe/Berlin') } } } },
  });
  const s = data(t, await readTimezone(ctx(root), JUL));
  t.equal(s.name, 'Europe/Berlin');
  t.same(s.disagreements, ['/etc/timezone says Europe/Paris, but /etc/localtime symlink says Europe/Berlin']);
});

t.test('aliases are the same zone (ICU canonical ids), not a disagreement', async (t) => {
  const root = t.testdir({
    etc: { localtime: t.fixture('symlink', '../usr/share/zoneinfo/Asia/Kolkata'), timezone: 'Asia/Calcutta\n' },
    usr: { share: { zoneinfo: { Asia: { Kolkata: zoneFile('Asia/Kolkata') } } } },
  });
  const s = data(t, await readTimezone(ctx(root), JUL));
  t.equal(s.name, 'Asia/Kolkata');
  t.same(s.disagreements, []);
  t.equal(s.offsetS, 19800);
});

t.test('TZ of the agent counts only for the running system (root /)', async (t) => {
  const facts = {
    tzEnv: 'Asia/Tokyo',
    localtime: { kind: 'symlink' as const, target: '/usr/share/zoneinfo/Europe/Berlin', resolved: '/usr/share/zoneinfo/Europe/Berlin', tzif: parseTzif(zoneFile('Europe/Berlin')) },
    etcTimezone: null,
    sysconfigZone: null,
  };
  const s = data(t, decideTimezone(facts, JUL));
  t.match(s, { name: 'Asia/Tokyo', source: 'TZ', offsetS: 32400 });
  t.same(s.disagreements, ['/etc/localtime symlink says Europe/Berlin, but TZ says Asia/Tokyo']);
  const file = data(t, decideTimezone({ ...facts, tzEnv: ':/etc/localtime' }, JUL));
  t.match(file, { name: 'Europe/Berlin', source: '/etc/localtime symlink' });
  t.equal(file.sources[0]?.source, 'TZ');
  const fixture = data(t, await readTimezone(ctx(fixtureRoot('kvm-guest'), { TZ: 'Asia/Tokyo' }), JUL));
  t.equal(fixture.name, 'Europe/Berlin', 'a fixture root ignores the agent TZ');
});

t.test('missing /etc/localtime is UTC (glibc); a dangling link too, with a warning', async (t) => {
  const none = data(t, await readTimezone(ctx(t.testdir({ etc: {} })), JUL));
  t.match(none, { name: 'UTC', offsetS: 0, source: 'default' });
  const dangling = data(t, await readTimezone(ctx(t.testdir({ etc: { localtime: t.fixture('symlink', '/usr/share/zoneinfo/Nowhere/City') } })), JUL));
  t.match(dangling, { name: 'UTC', offsetS: 0, source: 'default' }, 'glibc cannot open the zone: UTC');
  t.equal(dangling.sources[0]?.name, 'Nowhere/City', 'what the link says is still reported');
  t.match(dangling.disagreements.join('\n'), /dangling link/);
});

t.test('realpathUnderRoot never leaves the root', async (t) => {
  const root = t.testdir({
    etc: { localtime: t.fixture('symlink', '/usr/share/zoneinfo/Only/Here'), loop: t.fixture('symlink', '/etc/loop') },
    usr: { share: { zoneinfo: { Only: { Here: 'x' } } } },
  });
  t.equal(await realpathUnderRoot(root, '/etc/localtime'), '/usr/share/zoneinfo/Only/Here');
  t.equal(await realpathUnderRoot(root, '/etc/loop'), null);
  t.equal(await realpathUnderRoot(root, '/etc/missing'), null);
});

t.test('this machine: the zone /etc/localtime names', async (t) => {
  let target: string;
  try {
    target = readlinkSync('/etc/localtime');
  } catch {
    t.plan(0, '/etc/localtime is not a symlink here');
    return;
  }
  const s = data(t, await readTimezone({ root: '/', run: forbidden().run, env: {} }, Date.now()));
  t.equal(s.name, zoneNameFromPath(target)?.name);
  t.equal(s.offsetS, zoneOffsetS(s.name!, Date.now()));
});
