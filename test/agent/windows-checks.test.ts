/**
 * The rtc, ntp and timezone verdicts of Windows guests, on reports the agent's Windows readers make
 * from recorded outputs (platform 'win32' injected; test/fixtures/commands/windows/), judged by the
 * one judge with and without a joined libvirt domain (test/fixtures/libvirt/). No RTC value exists
 * on Windows: the rtc check judges RealTimeIsUniversal against the domain's <clock offset> as a
 * pair (domain.md §7.3, §8). The fix texts are chosen by the report's OS: a Linux report with the
 * same facts keeps its Linux texts.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, loadConfig, silentLogger } from '@clockwatch/agent';
import {
  DEFAULT_POLICY,
  ianaToWindows,
  judge,
  measureReport,
  parseDomainXml,
  resolvePolicy,
  windowsToIana,
  windowsZoneNames,
  type PolicyDocument,
  type Report,
} from '@clockwatch/shared';
import { commandsDir, repoRoot } from './helpers/paths.js';
import { replay } from './helpers/runners.js';

async function windowsReport(scenario: string): Promise<Report> {
  const r = loadConfig({ argv: ['--print'], env: {}, platform: 'win32', readFile: () => '' });
  if (r.kind !== 'config') throw new Error('no config');
  const si = JSON.parse(readFileSync(path.join(commandsDir(`windows/${scenario}`), 'systeminformation.json'), 'utf8'));
  const agent = await Agent.create({
    config: r.config,
    run: replay(`windows/${scenario}`).run,
    log: silentLogger,
    platform: 'win32',
    nowMs: () => Date.UTC(2026, 11, 1, 10),
    sysinfo: async () => ({ osInfo: async () => si.osInfo, system: async () => si.system, uuid: async () => si.uuid }),
  });
  return agent.print();
}

const xml = (name: string) => readFileSync(path.join(repoRoot, 'test/fixtures/libvirt', name), 'utf8');
const LOCALTIME = xml('windows-localtime-hypervclock.xml');
const UTC_XML = xml('windows-utc.xml');

function check(report: Report, id: string, opts: { domainXml?: string; policy?: PolicyDocument } = {}) {
  const m = measureReport(report, { receivedAtMs: report.systemTime.epochMs, hostSynchronized: true, hostResolutionMs: 0.001 });
  let libvirt = null;
  if (opts.domainXml) {
    const d = parseDomainXml(opts.domainXml);
    if (!d.ok) throw new Error(d.error.message);
    libvirt = { domain: d.domain, source: 'test', readAtMs: report.systemTime.epochMs };
  }
  const policy = resolvePolicy(opts.policy ?? DEFAULT_POLICY, { agentId: report.agent.id, hostname: report.agent.hostname, labels: report.agent.labels ?? {}, platform: 'win32' });
  const v = judge({ report, measurement: m, policy, libvirt, nowMs: report.systemTime.epochMs });
  const c = v.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} check`);
  return c;
}

const REG = 'reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation /v RealTimeIsUniversal /t REG_DWORD /d';

t.test('rtc, RealTimeIsUniversal absent (LOCAL): judged without an RTC value, against the domain', async (t) => {
  const r = await windowsReport('synced-en');
  t.match(r.rtc, { error: { code: 'CW_ERR_RTC_UNREADABLE' }, mode: 'LOCAL' });

  const alone = check(r, 'rtc');
  t.equal(alone.status, 'pass', alone.reason);
  t.match(alone.reason, /^configured LOCAL in RealTimeIsUniversal \(absent \(Windows default: local time\)\): Windows reads the RTC as the guest's local time, as Windows guests keep it; the RTC value cannot be read on Windows \(CW_ERR_RTC_UNREADABLE\)/);

  const pair = check(r, 'rtc', { domainXml: LOCALTIME });
  t.equal(pair.status, 'pass', pair.reason);
  t.match(pair.reason, /the domain's <clock offset='localtime'> starts it at local time: the pair agrees/);

  const mismatch = check(r, 'rtc', { domainXml: UTC_XML });
  t.equal(mismatch.status, 'fail', mismatch.reason);
  t.match(mismatch.reason, /but the domain's <clock offset='utc'> starts it at UTC, so Windows boots off by its zone offset/);
  t.ok(mismatch.reason.includes(`set RealTimeIsUniversal=0 (${REG} 0 /f, or delete the value) with <clock offset='localtime'> (or <clock offset='timezone' timezone='Asia/Shanghai'> when the host is in another zone) in the domain XML`), mismatch.reason);
  t.ok(mismatch.reason.includes(`or the opposite pair, RealTimeIsUniversal=1 (${REG} 1 /f) with <clock offset='utc'> in the domain XML; change both together`), mismatch.reason);

  const zone = check(r, 'rtc', { domainXml: LOCALTIME.replace("<clock offset='localtime'>", "<clock offset='timezone' timezone='Asia/Shanghai'>") });
  t.equal(zone.status, 'pass', `offset='timezone' is local time too: ${zone.reason}`);
  t.match(zone.reason, /the domain's <clock offset='timezone' timezone='Asia\/Shanghai'> starts it at local time: the pair agrees/);
  const zoneUtc = check(await windowsReport('synced-de'), 'rtc', { domainXml: LOCALTIME.replace("<clock offset='localtime'>", "<clock offset='timezone' timezone='Europe/Berlin'>") });
  t.equal(zoneUtc.status, 'fail', `RealTimeIsUniversal=1 under offset='timezone' is a mismatched pair: ${zoneUtc.reason}`);

  const noClock = check(r, 'rtc', { domainXml: LOCALTIME.replace(/<clock[\s\S]*?<\/clock>/, '') });
  t.equal(noClock.status, 'fail', `no <clock> is offset='utc': ${noClock.reason}`);
  t.match(noClock.reason, /no <clock> element \(libvirt defaults to offset='utc'\)/);

  const adjusted = check(r, 'rtc', { domainXml: LOCALTIME.replace("<clock offset='localtime'>", "<clock offset='utc' adjustment='28800'>") });
  t.equal(adjusted.status, 'pass', adjusted.reason);
  t.match(adjusted.reason, /gives it no plain base: libvirt-clock judges it/);

  const policyUtc = check(r, 'rtc', { policy: { version: 1, defaults: { rtc: { expect: 'utc' } } } });
  t.equal(policyUtc.status, 'fail', policyUtc.reason);
  t.match(policyUtc.reason, /configured RTC mode is LOCAL in RealTimeIsUniversal .*; policy expects it in UTC: set RealTimeIsUniversal=1 \(reg add .* \/d 1 \/f\) with <clock offset='utc'>/);
});

t.test('rtc, RealTimeIsUniversal=1 (REG_QWORD): fail alone, fail against localtime, warn as a consistent UTC pair', async (t) => {
  const r = await windowsReport('synced-de');
  t.match(r.rtc, { mode: 'UTC', modeSources: [{ detail: 'REG_QWORD 0x1' }] });
  const alone = check(r, 'rtc');
  t.equal(alone.status, 'fail', alone.reason);
  t.match(alone.reason, /^configured RTC mode is UTC in RealTimeIsUniversal \(REG_QWORD 0x1\) \(no domain XML joined to confirm the pair\); Windows guests keep it in local time/);

  const local = check(r, 'rtc', { domainXml: LOCALTIME });
  t.equal(local.status, 'fail', local.reason);
  t.match(local.reason, /Windows reads the RTC as UTC, but the domain's <clock offset='localtime'> starts it at local time/);
  t.ok(local.reason.includes(`${REG} 0 /f`), 'the registry half of the fix');

  const utc = check(r, 'rtc', { domainXml: UTC_XML });
  t.equal(utc.status, 'warn', utc.reason);
  t.match(utc.reason, /matches the domain's <clock offset='utc'>, so the clock boots right, but Windows guests keep it in local time \(RealTimeIsUniversal=1 is not officially supported/);

  const wanted = check(r, 'rtc', { domainXml: UTC_XML, policy: { version: 1, defaults: { rtc: { expect: 'utc' } } } });
  t.equal(wanted.status, 'pass', `the policy asks for UTC: ${wanted.reason}`);
});

t.test('rtc: no registry answer is unknown, not a guess', async (t) => {
  const r = await windowsReport('hyperv-vmic-en'); // no reg recording: reg.exe is not found
  t.match(r.rtc, { mode: null });
  const c = check(r, 'rtc', { domainXml: LOCALTIME });
  t.equal(c.status, 'unknown', c.reason);
  t.match(c.reason, /RealTimeIsUniversal could not be read either/);
});

t.test('ntp: w32time on Local CMOS Clock is free-running, with the w32tm fix', async (t) => {
  const r = await windowsReport('unsynced-cmos-en');
  t.match(r.ntp, { daemon: 'w32time', synchronized: false, localReferenceOnly: true, serverName: 'Local CMOS Clock' });
  const c = check(r, 'ntp', { policy: { version: 1, defaults: { ntp: { allowedServers: ['10.20.0.1'] } } } });
  t.equal(c.status, 'fail', c.reason);
  t.equal(
    c.reason,
    'w32time runs but is not synchronised: its source is Local CMOS Clock, so the clock is free-running; point it at an NTP server: w32tm /config /manualpeerlist:10.20.0.1 /syncfromflags:manual /update, then w32tm /resync',
  );
  t.match(check(r, 'ntp').reason, /manualpeerlist:<server> /, 'no allowed server in the policy: a placeholder');
});

t.test('timezone: a Windows guest is told tzutil /s with the CLDR Windows name; Linux keeps /etc/localtime', async (t) => {
  const r = await windowsReport('synced-en'); // China Standard Time → Asia/Shanghai
  const c = check(r, 'timezone', { policy: { version: 1, defaults: { timezone: { expected: 'America/Chicago' } } } });
  t.equal(c.status, 'fail', c.reason);
  t.match(c.reason, /policy expects America\/Chicago: tzutil \/s "Central Standard Time"/);
  t.notMatch(c.reason, /etc\/localtime/);

  const linux = { ...r, os: { ...(r.os as object), platform: 'linux' } } as Report;
  const l = check(linux, 'timezone', { policy: { version: 1, defaults: { timezone: { expected: 'America/Chicago' } } } });
  t.match(l.reason, /: link \/etc\/localtime to \/usr\/share\/zoneinfo\/America\/Chicago$/, 'the Linux text is unchanged');
});

t.test('CLDR windowsZones reverse: every default IANA zone maps back to a Windows name of that zone', async (t) => {
  const bad: string[] = [];
  for (const name of windowsZoneNames()) {
    const iana = windowsToIana(name)!;
    const back = ianaToWindows(iana);
    if (!back || windowsToIana(back) !== iana) bad.push(`${name} → ${iana} → ${back}`);
  }
  t.same(bad, []);
  t.equal(ianaToWindows('Europe/Berlin'), 'W. Europe Standard Time');
  t.equal(ianaToWindows('Asia/Calcutta'), 'India Standard Time', 'an alias through its canonical id');
  t.equal(ianaToWindows('America/Winnipeg'), 'Central Standard Time', 'a territory entry, not a default');
  t.equal(ianaToWindows('Nowhere/Atlantis'), null);
});
