/**
 * The libvirt-clock verdicts for the fixtures (Linux utc, Linux localtime, Windows
 * localtime with hypervclock, Windows utc, variable with adjustment, timezone='Europe/Paris', a
 * live <domstatus>), alone and cross-checked with what the joined agent measured. Exact reasons
 * are asserted where the wording is the product (the one-diagnosis cases); elsewhere the XML each
 * reason must name.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  evaluateLibvirtClock,
  familyFromPlatform,
  libvirtInputsFromReport,
  measureReport,
  parseDomainXml,
  recommendedClockXml,
  validateReport,
  type GuestFamily,
  type LibvirtDomain,
  type LibvirtGuestMeasurement,
} from '@clockwatch/shared';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'libvirt');
const load = (name: string): LibvirtDomain => {
  const r = parseDomainXml(readFileSync(join(fixtures, name), 'utf8'));
  if (!r.ok) throw new Error(r.error.message);
  return r.domain;
};
const fromXml = (xml: string): LibvirtDomain => {
  const r = parseDomainXml(xml);
  if (!r.ok) throw new Error(r.error.message);
  return r.domain;
};

const WINTER = Date.UTC(2026, 0, 15, 12); // Europe/Paris is UTC+01:00
const SUMMER = Date.UTC(2026, 6, 15, 12); // Europe/Paris is UTC+02:00

interface Case {
  name: string;
  fixture: string;
  family: GuestFamily | null;
  measured?: LibvirtGuestMeasurement;
  status: 'pass' | 'warn' | 'fail' | 'unknown';
  /** Exact reason, when given. */
  reason?: string;
  includes?: string[];
  excludes?: string[];
  findings?: number;
}

const cases: Case[] = [
  {
    name: 'Linux utc with the recommended timers passes',
    fixture: 'linux-utc.xml',
    family: 'linux',
    measured: { rtcOffsetS: 0.4 },
    status: 'pass',
    reason: "<clock offset='utc'>, RTC reads +0.4 s: consistent; rtc catchup, pit delay, hpet off: as virt-manager recommends for Linux guests",
  },
  {
    name: 'Linux utc without an agent: the family comes from libosinfo',
    fixture: 'linux-utc.xml',
    family: null,
    status: 'pass',
    includes: ["<clock offset='utc'>"],
  },
  {
    name: 'Linux utc but the RTC reads +1 h: inconsistent (the guest wrote its RTC, or the XML is not yet in effect)',
    fixture: 'linux-utc.xml',
    family: 'linux',
    measured: { rtcOffsetS: 3600.2 },
    status: 'warn',
    findings: 1,
    includes: ['inconsistent', "<clock offset='utc'>", 'RTC reads +3600 s', "'LOCAL' in /etc/adjtime", 'next full restart'],
  },
  {
    name: "Linux localtime with the RTC at +8 h is ONE diagnosis",
    fixture: 'linux-localtime.xml',
    family: 'linux',
    measured: { rtcOffsetS: 28800.4 },
    status: 'fail',
    findings: 1,
    reason: "configured <clock offset='localtime'> explains the RTC reading +28800 s (the host's local time, UTC+08:00); set <clock offset='utc'>",
  },
  {
    name: 'Linux localtime on a host in UTC: no error today, still wrong',
    fixture: 'linux-localtime.xml',
    family: 'linux',
    measured: { rtcOffsetS: -0.3 },
    status: 'fail',
    includes: ["only because the host's zone is at UTC+00:00", "set <clock offset='utc'>"],
  },
  {
    name: 'Linux localtime without a measurement',
    fixture: 'linux-localtime.xml',
    family: null,
    status: 'fail',
    reason: "<clock offset='localtime'> gives a Linux guest the host's local time in its RTC; set <clock offset='utc'>",
  },
  {
    name: 'Linux localtime with an RTC the configuration does not explain',
    fixture: 'linux-localtime.xml',
    family: 'linux',
    measured: { rtcOffsetS: 1234 },
    status: 'fail',
    includes: ['RTC reads +1234 s, which that does not explain either', "set <clock offset='utc'>"],
  },
  {
    name: 'Windows localtime with hypervclock, guest in the host zone, passes',
    fixture: 'windows-localtime-hypervclock.xml',
    family: 'windows',
    measured: { rtcOffsetS: 28800.3, zoneName: 'Asia/Shanghai', zoneOffsetS: 28800 },
    status: 'pass',
    reason: "<clock offset='localtime'>, RTC reads +28800 s = the guest's UTC+08:00: consistent; rtc catchup, pit delay, hpet off, hypervclock on: as virt-manager recommends for Windows guests",
  },
  {
    name: "Windows localtime, but the host's zone is not the guest's",
    fixture: 'windows-localtime-hypervclock.xml',
    family: 'windows',
    measured: { rtcOffsetS: 28800, zoneName: 'Europe/Paris', zoneOffsetS: 3600 },
    status: 'warn',
    findings: 1,
    includes: ["gives the host's local time (RTC reads +28800 s)", 'Europe/Paris is UTC+01:00', "write <clock offset='timezone' timezone='Europe/Paris'>"],
  },
  {
    name: 'Windows utc: the configured offset explains the RTC, and hypervclock is missing',
    fixture: 'windows-utc.xml',
    family: 'windows',
    measured: { rtcOffsetS: 0.2, zoneName: 'Europe/Berlin', zoneOffsetS: 3600, rtcMode: 'LOCAL' },
    status: 'fail',
    findings: 2,
    reason:
      "configured <clock offset='utc'> explains the RTC reading +0.2 s: Windows reads that UTC value as its local time (UTC+01:00); set <clock offset='localtime'> (or <clock offset='timezone' timezone='Europe/Berlin'>); add <timer name='hypervclock' present='yes'/> (Hyper-V reference time for Windows' clock)",
  },
  {
    name: 'Windows utc without an agent: libosinfo says Windows',
    fixture: 'windows-utc.xml',
    family: null,
    status: 'fail',
    includes: ["<clock offset='utc'>; Windows guests keep the RTC in local time: set <clock offset='localtime'>", "add <timer name='hypervclock' present='yes'/>"],
  },
  {
    name: 'Windows utc with RealTimeIsUniversal=1: consistent but unsupported',
    fixture: 'windows-utc.xml',
    family: 'windows',
    measured: { rtcOffsetS: 0.1, zoneName: 'Europe/Berlin', zoneOffsetS: 3600, rtcMode: 'UTC' },
    status: 'warn',
    includes: ['RealTimeIsUniversal=1', "set <clock offset='localtime'> and remove RealTimeIsUniversal"],
  },
  {
    name: 'variable with adjustment 3600 explains an RTC at +1 h',
    fixture: 'variable-adjustment.xml',
    family: 'linux',
    measured: { rtcOffsetS: 3600.9 },
    status: 'fail',
    findings: 1,
    reason:
      "configured <clock offset='variable' basis='utc' adjustment='3600'> explains the RTC reading +3601 s: the RTC runs +3600 s off UTC; Linux guests keep the RTC in UTC: set <clock offset='utc'>",
  },
  {
    name: 'variable with adjustment, no measurement',
    fixture: 'variable-adjustment.xml',
    family: null,
    status: 'fail',
    includes: ["<clock offset='variable' basis='utc' adjustment='3600'> puts the RTC +3600 s off UTC", "set <clock offset='utc'>"],
  },
  {
    name: "timezone='Europe/Paris' on a Windows guest in Paris passes",
    fixture: 'timezone-paris.xml',
    family: 'windows',
    measured: { rtcOffsetS: 3600, zoneName: 'Europe/Paris', zoneOffsetS: 3600, atMs: WINTER },
    status: 'pass',
    includes: ["<clock offset='timezone' timezone='Europe/Paris'>, the guest's own zone", 'hypervclock on'],
  },
  {
    name: "timezone='Europe/Paris' on a Windows guest in New York",
    fixture: 'timezone-paris.xml',
    family: 'windows',
    measured: { rtcOffsetS: 3600, zoneName: 'America/New_York', zoneOffsetS: -18000, atMs: WINTER },
    status: 'fail',
    includes: ["keeps Europe/Paris time in the RTC, but the guest's zone is America/New_York; write <clock offset='timezone' timezone='America/New_York'>"],
  },
  {
    name: "timezone='Europe/Paris' on a Linux guest in winter: explained (+1 h)",
    fixture: 'timezone-paris.xml',
    family: 'linux',
    measured: { rtcOffsetS: 3600, atMs: WINTER },
    status: 'fail',
    findings: 1,
    reason: "configured <clock offset='timezone' timezone='Europe/Paris'> explains the RTC reading +3600 s (Europe/Paris is UTC+01:00 then); set <clock offset='utc'>",
  },
  {
    name: "timezone='Europe/Paris' on a Linux guest in summer: explained (+2 h)",
    fixture: 'timezone-paris.xml',
    family: 'linux',
    measured: { rtcOffsetS: 7199.5, atMs: SUMMER },
    status: 'fail',
    includes: ['explains the RTC reading +7200 s (Europe/Paris is UTC+02:00 then)'],
  },
  {
    name: "timezone='Europe/Paris' with no agent and no libosinfo: the family is unknown",
    fixture: 'timezone-paris.xml',
    family: null,
    status: 'unknown',
    includes: ["cannot tell whether pos-paris-01 runs Linux or Windows", "Linux guests need <clock offset='utc'>, Windows guests <clock offset='localtime'>"],
  },
  {
    name: 'live <domstatus>: the RTC disagrees with utc (no restart hint: this is the running config), hpet missing',
    fixture: 'live-domstatus.xml',
    family: 'linux',
    measured: { rtcOffsetS: 3600 },
    status: 'warn',
    findings: 2,
    includes: ['inconsistent', "add <timer name='hpet' present='no'/> (no emulated HPET)"],
    excludes: ['next full restart'],
  },
  {
    name: 'recorded virsh dumpxml of the localtime guest',
    fixture: 'virsh/dumpxml-9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68.xml',
    family: 'linux',
    measured: { rtcOffsetS: 28800 },
    status: 'fail',
    includes: ["configured <clock offset='localtime'> explains the RTC reading +28800 s"],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = evaluateLibvirtClock(load(c.fixture), c.family, c.measured);
    t.equal(r.id, 'libvirt-clock');
    t.equal(r.status, c.status, `status (${r.reason})`);
    if (c.reason !== undefined) t.equal(r.reason, c.reason);
    for (const s of c.includes ?? []) t.ok(r.reason.includes(s), `reason names: ${s}\n  got: ${r.reason}`);
    for (const s of c.excludes ?? []) t.notOk(r.reason.includes(s), `reason does not say: ${s}`);
    if (c.findings !== undefined) t.equal(r.findings.length, c.findings, 'number of findings');
    t.equal(r.findings.length === 0, r.status === 'pass', 'pass exactly when nothing was found');
  });
}

t.test('findings are ordered worst first and the status is the worst', async (t) => {
  const r = evaluateLibvirtClock(load('windows-utc.xml'), 'windows');
  t.same(r.findings.map((f) => f.status), ['fail', 'warn']);
  t.equal(r.familySource, 'agent');
  t.equal(r.recommendedXml, recommendedClockXml('windows'));
  t.equal(
    recommendedClockXml('windows'),
    "<clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/></clock>",
  );
  t.equal(evaluateLibvirtClock(load('linux-utc.xml'), null).familySource, 'libosinfo');
});

t.test('the agent wins over libosinfo, and the disagreement is noted', async (t) => {
  const r = evaluateLibvirtClock(load('linux-utc.xml'), 'windows', { rtcOffsetS: 0, zoneName: 'Etc/UTC', zoneOffsetS: 0 });
  t.equal(r.family, 'windows');
  t.equal(r.status, 'fail');
  t.match(r.reason, /libosinfo metadata says linux \(http:\/\/debian\.org\/debian\/12\), the agent reports windows/);
});

const dom = (clock: string, extra = '') =>
  fromXml(`<domain type='kvm'><name>t</name><uuid>00000000-0000-0000-0000-000000000001</uuid><os><type arch='x86_64'>hvm</type></os>${extra}${clock}</domain>`);
const TIMERS = "<timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/>";

t.test('offset variants', async (t) => {
  const cases: [string, GuestFamily, string, RegExp][] = [
    [`<clock offset='utc' adjustment='reset'>${TIMERS}</clock>`, 'linux', 'pass', /offset='utc' adjustment='reset'/],
    [`<clock offset='utc' adjustment='0'>${TIMERS}</clock>`, 'linux', 'warn', /keeps whatever the guest writes to its RTC/],
    [`<clock offset='variable' adjustment='2'>${TIMERS}</clock>`, 'linux', 'warn', /keeps whatever the guest writes.*set <clock offset='utc'>/],
    [`<clock offset='variable' basis='localtime' adjustment='0'>${TIMERS}</clock>`, 'linux', 'fail', /host's local time.*set <clock offset='utc'>/],
    [`<clock offset='absolute' start='1700000000'>${TIMERS}</clock>`, 'linux', 'fail', /starts the RTC at the same instant at every boot; Linux guests keep the RTC in UTC: set <clock offset='utc'>/],
    [`<clock offset='absolute' start='1700000000'>${TIMERS}</clock>`, 'windows', 'fail', /set <clock offset='localtime'>/],
    [`<clock offset='sideways'>${TIMERS}</clock>`, 'linux', 'unknown', /offset='sideways' is not one libvirt knows/],
    [`<clock offset='utc' adjustment='soon'>${TIMERS}</clock>`, 'linux', 'unknown', /adjustment='soon' is neither/],
    [`<clock offset='timezone'>${TIMERS}</clock>`, 'linux', 'unknown', /without a timezone attribute/],
    [`<clock offset='timezone' timezone='Etc/UTC'>${TIMERS}</clock>`, 'linux', 'warn', /UTC under another name; write <clock offset='utc'>/],
    [`<clock offset='timezone' timezone='Mars/Olympus'>${TIMERS}</clock>`, 'linux', 'fail', /does not know/],
    [`<clock offset='variable' basis='localtime' adjustment='0'>${TIMERS}<timer name='hypervclock' present='yes'/></clock>`, 'windows', 'warn', /keeps whatever the guest writes.*set <clock offset='localtime'>/],
    [`<clock offset='localtime' adjustment='7200'>${TIMERS}<timer name='hypervclock' present='yes'/></clock>`, 'windows', 'fail', /puts the RTC \+7200 s off the host's local time/],
  ];
  for (const [clock, family, status, re] of cases) {
    const r = evaluateLibvirtClock(dom(clock), family);
    t.equal(r.status, status, `${clock} (${family}): ${r.reason}`);
    t.match(r.reason, re);
  }
});

t.test('timers as virt-manager recommends, as warnings naming the XML', async (t) => {
  const r = evaluateLibvirtClock(dom("<clock offset='utc'><timer name='rtc' tickpolicy='delay'/><timer name='pit' present='no'/><timer name='kvmclock' present='no'/></clock>"), 'linux');
  t.equal(r.status, 'warn');
  t.same(
    r.findings.map((f) => f.text),
    [
      "set <timer name='rtc' tickpolicy='catchup'/> instead of tickpolicy='delay' (lost RTC ticks are replayed faster)",
      "<timer name='pit' present='no'> removes the pit; write <timer name='pit' tickpolicy='delay'/> (no PIT tick reinjection)",
      "add <timer name='hpet' present='no'/> (no emulated HPET)",
      "<timer name='kvmclock' present='no'> hides kvm-clock from the guest; remove it or write <timer name='kvmclock' present='yes'/>",
    ],
  );
  const w = evaluateLibvirtClock(dom(`<clock offset='localtime'>${TIMERS}<timer name='hypervclock' present='no'/></clock>`), 'windows');
  t.same(w.findings.map((f) => f.text), ["set <timer name='hypervclock' present='yes'/> instead of present='no' (Hyper-V reference time for Windows' clock)"]);
});

t.test('no <clock> element: the whole element is named', async (t) => {
  const l = evaluateLibvirtClock(dom(''), 'linux');
  t.equal(l.status, 'warn');
  t.equal(l.reason, `no <clock> element (libvirt defaults to offset='utc', without the recommended timers); write ${recommendedClockXml('linux')}`);
  const w = evaluateLibvirtClock(dom(''), 'windows');
  t.equal(w.status, 'fail');
  t.match(w.reason, /which Windows reads as local time.*<clock offset='localtime'><timer name='rtc'/);
});

t.test('timer advice is for x86 QEMU/KVM only', async (t) => {
  const arm = fromXml("<domain type='kvm'><name>arm</name><os><type arch='aarch64' machine='virt'>hvm</type></os><clock offset='utc'/></domain>");
  const r = evaluateLibvirtClock(arm, 'linux');
  t.equal(r.status, 'pass', r.reason);
  const armNoClock = fromXml("<domain type='kvm'><name>arm</name><os><type arch='aarch64'>hvm</type></os></domain>");
  t.equal(evaluateLibvirtClock(armNoClock, 'linux').status, 'pass');
  const xen = fromXml("<domain type='xen'><name>x</name><clock offset='localtime'/></domain>");
  const rx = evaluateLibvirtClock(xen, 'linux');
  t.equal(rx.findings.length, 1, 'only the offset finding');
  t.equal(rx.status, 'fail');
});

t.test('tolerance follows the policy', async (t) => {
  const d = load('linux-localtime.xml');
  t.match(evaluateLibvirtClock(d, 'linux', { rtcOffsetS: 28808 }).reason, /does not explain either/, '8 s off with the default 5 s tolerance');
  t.match(evaluateLibvirtClock(d, 'linux', { rtcOffsetS: 28808 }, { toleranceS: 10 }).reason, /explains the RTC reading \+28808 s/);
});

t.test('end to end with the shared core: a stored report, its measurement, the domain', async (t) => {
  const cases = join(fixtures, '..', 'cases');
  const input = (name: string) => {
    const report = validateReport(JSON.parse(readFileSync(join(cases, name, 'report.json'), 'utf8')));
    if (!report.ok) throw new Error(report.message);
    const ctx = JSON.parse(readFileSync(join(cases, name, 'context.json'), 'utf8')) as { receivedAtMs: number };
    return libvirtInputsFromReport(report.report, measureReport(report.report, { receivedAtMs: ctx.receivedAtMs }));
  };
  // A Debian guest in Shanghai whose RTC keeps local time, under offset='localtime'.
  const linux = input('rtc-localtime-shanghai');
  t.equal(linux.family, 'linux');
  t.match(linux.measured, { zoneName: 'Asia/Shanghai', zoneOffsetS: 28800, rtcMode: 'LOCAL' });
  const r = evaluateLibvirtClock(load('linux-localtime.xml'), linux.family, linux.measured);
  t.equal(r.status, 'fail');
  t.equal(r.findings.length, 1, 'one diagnosis');
  t.match(r.reason, /^configured <clock offset='localtime'> explains the RTC reading \+28800 s \(the host's local time, UTC\+08:00\); set <clock offset='utc'>$/);
  // A Windows guest whose RTC keeps local time, under offset='localtime' with hypervclock.
  const win = input('windows-rtc-localtime');
  t.equal(win.family, 'windows');
  const w = evaluateLibvirtClock(load('windows-localtime-hypervclock.xml'), win.family, win.measured);
  t.equal(w.status, 'pass', w.reason);
});

t.test('zones that cannot be confirmed, duplicate timers, platforms', async (t) => {
  const paris = load('timezone-paris.xml');
  const w = evaluateLibvirtClock(paris, 'windows', { rtcOffsetS: 3600 });
  t.equal(w.status, 'warn');
  t.match(w.reason, /the guest's own zone is not known, so whether Europe\/Paris is its local time cannot be confirmed/);
  const l = evaluateLibvirtClock(paris, 'linux');
  t.equal(l.reason, "<clock offset='timezone' timezone='Europe/Paris'> keeps Europe/Paris local time in the RTC of a Linux guest; set <clock offset='utc'>");
  const dup = dom(`<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='rtc' tickpolicy='delay'/><timer/>${TIMERS.replace("<timer name='rtc' tickpolicy='catchup'/>", '')}</clock>`);
  t.same(dup.notes, ["timer 'rtc' is listed twice; the first is used"]);
  t.equal(evaluateLibvirtClock(dup, 'linux').status, 'pass');
  t.equal(familyFromPlatform('win32'), 'windows');
  t.equal(familyFromPlatform('linux'), 'linux');
  t.equal(familyFromPlatform('freebsd'), null);
  t.equal(familyFromPlatform(null), null);
  const odd = dom("<clock offset='timezone' timezone='Europe/Paris&apos; onload=&apos;x'>" + TIMERS + '</clock>');
  t.match(evaluateLibvirtClock(odd, 'linux').reason, /timezone='Europe\/Paris&apos; onload=&apos;x'/, 'values from the file are re-escaped in the XML shown');
});
