/**
 * The platform switch: the agent collects a Windows guest's report when the platform 'win32' is
 * injected, here on Linux with recorded w32tm / reg outputs and recorded systeminformation answers
 * (test/fixtures/commands/windows/). Nothing of the Linux readers runs, nothing is invented.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, defaultSpoolDir, loadConfig, silentLogger, type SystemInfoSource } from '@clockwatch/agent';
import { DEFAULT_POLICY, evaluate, measureReport, validateReport, type Report } from '@clockwatch/shared';
import { commandsDir } from './helpers/paths.js';
import { replay } from './helpers/runners.js';

const recordedSysinfo = (scenario: string): (() => Promise<SystemInfoSource>) => {
  const a = JSON.parse(readFileSync(path.join(commandsDir(`windows/${scenario}`), 'systeminformation.json'), 'utf8'));
  let calls = 0;
  const si: SystemInfoSource & { calls: () => number } = {
    osInfo: async () => (calls++, a.osInfo),
    system: async () => (calls++, a.system),
    uuid: async () => (calls++, a.uuid),
    calls: () => calls,
  };
  return async () => si;
};

async function printWindows(scenario: string, extra: string[] = []) {
  const r = loadConfig({ argv: ['--print', '--label', 'site=berlin', ...extra], env: {}, platform: 'win32', readFile: () => '' });
  if (r.kind !== 'config') throw new Error('no config');
  const rec = replay(`windows/${scenario}`);
  const sysinfo = recordedSysinfo(scenario);
  const agent = await Agent.create({ config: r.config, run: rec.run, log: silentLogger, platform: 'win32', sysinfo, nowMs: () => Date.UTC(2026, 11, 1, 10) });
  const startCalls = [...rec.calls];
  const reports: Report[] = [await agent.print(), await agent.print()];
  return { reports, calls: rec.calls, startCalls, si: (await sysinfo()) as SystemInfoSource & { calls: () => number } };
}

t.test("win32 injected: a whole Windows report from recorded outputs", async (t) => {
  const { reports, calls, startCalls, si } = await printWindows('synced-en');
  const r = reports[0]!;
  const v = validateReport(r);
  t.ok(v.ok, `schema v1${v.ok ? '' : `: ${v.message}`}`);
  t.same(startCalls, [], 'the inventory spawns nothing through the runner (systeminformation, once)');
  t.equal(si.calls(), 3, 'osInfo, system, uuid: once at start, not per cycle');
  t.same([...calls].sort(), ['reg query HKLM\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation', 'w32tm /query /status /verbose', 'w32tm /query /configuration'].flatMap((c) => [c, c]).sort(), 'three processes per cycle, no Linux reader');
  t.match(r.agent, { id: '3f0e8c1a-6b2d-4e59-9a7c-0d1e2f3a4b5c', idSource: 'machine-id', systemUuid: '5a3c1e2b-8f4d-4c1a-9e2b-7d6f5a4b3c2d', hostname: 'WIN-01', labels: { site: 'berlin' } });
  t.same(r.os, { platform: 'win32', distro: 'Microsoft Windows Server 2022 Standard', release: '10.0.20348 (21H2)', kernel: '10.0.20348', arch: 'x64', virtualization: 'qemu' });
  t.match(r.clocksource, { error: { code: 'CW_ERR_UNSUPPORTED' } });
  t.match(r.rtc, { error: { code: 'CW_ERR_RTC_UNREADABLE' }, mode: 'LOCAL', modeSource: 'RealTimeIsUniversal' });
  t.notOk('epochMs' in r.rtc, 'no RTC value is invented');
  t.match(r.timezone, { name: 'Asia/Shanghai', offsetS: 28800, source: 'TimeZoneKeyName' });
  t.match(r.ntp, { daemon: 'w32time', synchronized: true, server: 'time.windows.com', stratum: 4, pollIntervalS: 1024 });
  t.equal(reports[1]!.seq, r.seq + 1);

  // The verdict of that report, with a time exchange added: the Windows rules apply.
  const withProbe = { ...r, timeProbe: { samples: [{ t1: r.systemTime.epochMs, t2: r.systemTime.epochMs + 0.5, t3: r.systemTime.epochMs + 0.6, t4: r.systemTime.epochMs + 1 }], resolutionMs: 0.001 } };
  const m = measureReport(withProbe, { receivedAtMs: r.systemTime.epochMs + 5, hostSynchronized: true, hostResolutionMs: 0.001 });
  const verdict = evaluate(withProbe, m, DEFAULT_POLICY, r.systemTime.epochMs + 10);
  t.same(verdict.rules, ['builtin:windows-has-no-clocksource']);
  t.match(Object.fromEntries(verdict.checks.map((c) => [c.id, c.status])), { offset: 'pass', timezone: 'pass', ntp: 'warn' }); // the recorded w32time polls every 1024 s: past the 300 s limit
});

t.test('win32: unsynchronised and stopped time service, German output', async (t) => {
  const cmos = (await printWindows('unsynced-cmos-en')).reports[0]!;
  t.match(cmos.ntp, { daemon: 'w32time', synchronized: false, server: null, localReferenceOnly: true, serverName: 'Local CMOS Clock' });
  const stopped = (await printWindows('service-stopped')).reports[0]!;
  t.match(stopped.ntp, { daemon: 'none' });
  const de = (await printWindows('synced-de')).reports[0]!;
  t.ok(validateReport(de).ok);
  t.match(de.ntp, { daemon: 'w32time', synchronized: true, server: 'ntp1.berlin.example', pollIntervalS: 256 });
  t.match(de.timezone, { name: 'Europe/Berlin', offsetS: 3600 });
  t.match(de.rtc, { mode: 'UTC', modeSources: [{ detail: 'REG_QWORD 0x1' }] });
});

t.test('win32: a failing inventory is an error section; --id still names the agent', async (t) => {
  const r = loadConfig({ argv: ['--print', '--id', 'win-x'], env: {}, platform: 'win32', readFile: () => '' });
  if (r.kind !== 'config') throw new Error('no config');
  const agent = await Agent.create({ config: r.config, run: replay('windows/synced-en').run, log: silentLogger, platform: 'win32', sysinfo: async () => { throw new Error('PowerShell is not available'); } });
  const rep = await agent.print();
  t.match(rep.os, { error: { code: 'CW_ERR_READ', message: /PowerShell is not available/ } });
  t.match(rep.agent, { id: 'win-x', systemUuid: null });
  t.ok(validateReport(rep).ok);
});

t.test('the same agent without the injected platform reads Linux and never runs w32tm', async (t) => {
  const r = loadConfig({ argv: ['--print', '--root', t.testdir({})], env: {}, readFile: () => '' });
  if (r.kind !== 'config') throw new Error('no config');
  const rec = replay('windows/synced-en');
  const agent = await Agent.create({ config: r.config, run: rec.run, log: silentLogger });
  const rep = await agent.print();
  t.notOk(rec.calls.some((c) => c.startsWith('w32tm') || c.startsWith('reg ')), 'no Windows command');
  t.match(rep.rtc, { error: { code: 'CW_ERR_RTC_ABSENT' } });
});

t.test('default spool directory per platform', async (t) => {
  t.equal(defaultSpoolDir('win32', { ProgramData: 'C:\\ProgramData' }), 'C:\\ProgramData\\clockwatch\\spool');
  t.equal(defaultSpoolDir('win32', { ProgramData: 'D:\\Data\\' }), 'D:\\Data\\clockwatch\\spool');
  t.equal(defaultSpoolDir('win32', {}), 'C:\\ProgramData\\clockwatch\\spool');
  t.equal(defaultSpoolDir('linux', {}), '/var/lib/clockwatch-agent/spool');
  t.equal(defaultSpoolDir('linux', {}, '/var/lib/x'), '/var/lib/x/spool');
  const c = loadConfig({ argv: [], env: { ProgramData: 'C:\\ProgramData' }, platform: 'win32', readFile: () => '' });
  t.equal(c.kind === 'config' && c.config.spoolDir, 'C:\\ProgramData\\clockwatch\\spool');
  const l = loadConfig({ argv: [], env: {}, readFile: () => '' });
  t.equal(l.kind === 'config' && l.config.spoolDir, '/var/lib/clockwatch-agent/spool', 'Linux default unchanged');
});

t.test('win32 --once into a real collector on 127.0.0.1: accepted, judged as a Windows guest', async (t) => {
  const { appWith } = await import('../collector/helpers.js');
  const { app, close } = await appWith({});
  t.teardown(close);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const r = loadConfig({ argv: ['--once', '--collector', url, '--spool', t.testdir(), '--samples', '3'], env: {}, platform: 'win32', readFile: () => '' });
  if (r.kind !== 'config') throw new Error('no config');
  const agent = await Agent.create({ config: r.config, run: replay('windows/synced-en').run, log: silentLogger, platform: 'win32', sysinfo: recordedSysinfo('synced-en') });
  t.teardown(() => agent.close());
  const res = await agent.once();
  t.equal(res.exitCode, 0, JSON.stringify(res.output).slice(0, 300));
  const detail = (await app.inject({ method: 'GET', url: '/v1/agents/3f0e8c1a-6b2d-4e59-9a7c-0d1e2f3a4b5c' })).json() as { verdict: { rules: string[]; checks: { id: string; status: string; reason: string }[] } };
  const byId = Object.fromEntries(detail.verdict.checks.map((c) => [c.id, c]));
  t.same(detail.verdict.rules, ['builtin:windows-has-no-clocksource']);
  t.notOk(byId.clocksource, 'no clocksource check for Windows');
  t.equal(byId.ntp?.status, 'warn', String(byId.ntp?.reason)); // polls every 1024 s: past ntp.maxPollIntervalS
  t.match(byId.ntp?.reason, /w32time synchronised to time\.windows\.com/);
  t.equal(byId.timezone?.status, 'pass', String(byId.timezone?.reason));
  t.match(byId.timezone?.reason, /Asia\/Shanghai/);
  t.equal(byId.offset?.status, 'pass', `a real exchange on one OS clock: ${byId.offset?.reason}`);
  // The RTC value is an error section on Windows: the rtc check judges the configured mode
  // (RealTimeIsUniversal absent: local time, as Windows guests keep it) and says the value is unread.
  t.equal(byId.rtc?.status, 'pass', String(byId.rtc?.reason));
  t.match(byId.rtc?.reason, /configured LOCAL in RealTimeIsUniversal.*CW_ERR_RTC_UNREADABLE/);
});
