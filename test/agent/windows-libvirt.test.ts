/**
 * The Windows facts the agent reads (RealTimeIsUniversal, TimeZoneKeyName → IANA) against the
 * domain XML, through the libvirt-clock check the collector runs for joined agents. The reports
 * come from the Windows readers on recordings (platform 'win32' injected), the XML from
 * test/fixtures/libvirt/ or written here for one attribute. No RTC value exists on Windows, so the
 * judgement rests on the configured mode and the guest's zone.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, loadConfig, silentLogger } from '@clockwatch/agent';
import { evaluateLibvirtClock, libvirtInputsFromReport, measureReport, parseDomainXml, type Report } from '@clockwatch/shared';
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
function judge(report: Report, domainXml: string) {
  const d = parseDomainXml(domainXml);
  if (!d.ok) throw new Error(d.error.message);
  const m = measureReport(report, { receivedAtMs: report.systemTime.epochMs, hostSynchronized: true, hostResolutionMs: 0.001 });
  const { family, measured } = libvirtInputsFromReport(report, m);
  return evaluateLibvirtClock(d.domain, family, measured);
}

t.test('Shanghai guest, RealTimeIsUniversal absent (LOCAL)', async (t) => {
  const r = await windowsReport('synced-en');
  t.match(r.rtc, { mode: 'LOCAL' });
  const ok = judge(r, xml('windows-localtime-hypervclock.xml'));
  t.equal(ok.status, 'pass', ok.reason);
  t.match(ok.reason, /offset='localtime'.*hypervclock on/);

  const utc = judge(r, xml('windows-utc.xml'));
  t.equal(utc.status, 'fail', utc.reason);
  t.match(utc.reason, /set <clock offset='timezone' timezone='Asia\/Shanghai'> \(or <clock offset='localtime'>/);

  const berlin = judge(r, xml('windows-localtime-hypervclock.xml').replace("<clock offset='localtime'>", "<clock offset='timezone' timezone='Europe/Berlin'>"));
  t.equal(berlin.status, 'fail', berlin.reason);
  t.match(berlin.reason, /keeps Europe\/Berlin time in the RTC, but the guest's zone is Asia\/Shanghai; write <clock offset='timezone' timezone='Asia\/Shanghai'>/, 'the mapped IANA zone names the fix');

  const own = judge(r, xml('windows-localtime-hypervclock.xml').replace("<clock offset='localtime'>", "<clock offset='timezone' timezone='Asia/Shanghai'>"));
  t.equal(own.status, 'pass', own.reason);
});

t.test('Berlin guest with RealTimeIsUniversal=1 (REG_QWORD) under offset=utc: consistent, but unsupported', async (t) => {
  const r = await windowsReport('synced-de');
  t.match(r.rtc, { mode: 'UTC' });
  const v = judge(r, xml('windows-utc.xml'));
  t.equal(v.status, 'warn', v.reason);
  t.match(v.reason, /RealTimeIsUniversal=1, which Microsoft does not support/);
});
