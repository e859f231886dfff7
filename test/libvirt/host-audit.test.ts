/**
 * The host audit of guests without an agent: the readers' pure parses, the audit of each domain
 * through an injected runner replaying virsh/QEMU/qemu-guest-agent outputs recorded from a real
 * libvirtd 9.0 + QEMU 7.2 (test/fixtures/commands/host-audit/README.md), RTC writes seen across
 * passes, and the verdicts the one judge makes from that evidence (judgeAgentless; both views for a
 * guest with an agent).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_POLICY,
  judgeAgentless,
  NO_AGENT,
  parseDomainXml,
  resolvePolicy,
  rtcDisagreement,
  type CommandResult,
  type CommandRunner,
  type HostAuditEvidence,
  type JoinedDomain,
} from '@clockwatch/shared';
import {
  auditDomain,
  detectRtcChange,
  guestTimeFrom,
  HostAudit,
  LibvirtAudit,
  osFromGuestinfo,
  parseDomtime,
  parseHostAuditParts,
  parseQomRtcTime,
  rtcReadingFrom,
  zoneFromGuestinfo,
} from '../../packages/collector/dist/libvirt/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'commands', 'host-audit');
interface Recorded extends CommandResult {
  args: string[];
  beforeMs: number;
  afterMs: number;
}
const load = (name: string): Recorded[] => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Recorded[];
const URI = 'qemu:///system';
const UUID = { localtime: '6953ad2f-3802-4e90-a135-491879444f3d', utc: '463ecdd2-6b23-4bb6-bbdf-7e37a0119c92', ga: 'bf22a9d2-7c09-4559-923a-424b7df9b3a4' };

/**
 * Replays recorded commands by their argv; the host clock stands at the last command's afterMs, so
 * a reader's bracket is (previous afterMs, this afterMs) — the recorded timeline, run in order.
 */
function replay(records: Recorded[]): { runner: CommandRunner; nowMs: () => number; calls: string[][] } {
  let now = records[0]!.beforeMs;
  const calls: string[][] = [];
  const runner: CommandRunner = async (command, args) => {
    calls.push([command, ...args]);
    // The domain reads go over a read-only connection (-r) since the recordings were made; the
    // replies are the same, so a recording is matched without it.
    const key = JSON.stringify(args.filter((a) => a !== '-r'));
    const r = records.find((x) => JSON.stringify(x.args) === key);
    if (!r) return { code: 1, stdout: '', stderr: `error: no recording for ${args.join(' ')}\n` };
    now = r.afterMs;
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };
  return { runner, nowMs: () => now, calls };
}

const domainOf = (records: Recorded[], uuid: string): JoinedDomain => {
  const xml = records.find((r) => r.args[2] === 'dumpxml' && r.args[3] === uuid)!.stdout;
  const p = parseDomainXml(xml);
  if (!p.ok) throw new Error(p.error.message);
  return { domain: p.domain, source: `virsh -c ${URI} dumpxml ${uuid}`, readAtMs: 0 };
};

t.test('parses: QOM struct tm, domtime, guestinfo', async (t) => {
  const rec = load('three-domains');
  const rtc = rec.find((r) => r.args[2] === 'qemu-monitor-command' && r.args[3] === UUID.localtime)!;
  const tm = parseQomRtcTime(rtc.stdout);
  t.ok(tm.ok);
  // tm_year is years since 1900 and tm_mon 0-11 (struct tm): 126/11 is December 2026.
  if (tm.ok) t.same(tm.value, { year: 2026, month: 12, day: 1, hour: 18, minute: 26, second: 50 });
  t.notOk(parseQomRtcTime('{"return":{"tm_year":126}}').ok, 'a partial struct tm is refused');
  t.notOk(parseQomRtcTime('{"error":{"class":"GenericError","desc":"Property not found"}}').ok);
  const bad = parseQomRtcTime('garbage');
  t.equal(bad.ok ? null : bad.error.code, 'CW_ERR_PARSE');
  t.same(parseDomtime('Time: 1796120756\n'), { ok: true, value: 1796120756 });
  t.notOk(parseDomtime('').ok);
  const z = zoneFromGuestinfo('timezone.name       : JST\ntimezone.offset     : 32400\n\n', 5);
  t.same(z, { ok: true, value: { name: 'JST', offsetS: 32400, atMs: 5 } });
  const os = osFromGuestinfo(rec.find((r) => r.args[2] === 'guestinfo' && r.args[3] === '--os')!.stdout);
  t.same(os.ok && os.value, { id: 'debian', prettyName: 'Debian GNU/Linux 12 (bookworm)', family: 'linux' });
  t.same(parseHostAuditParts('rtc,guest-agent'), ['rtc', 'guest-agent']);
  t.throws(() => parseHostAuditParts('rtc,ntp'), /unknown host audit part 'ntp'/);
});

t.test('the bracket: the RTC’s whole second and the host interval both widen the uncertainty', async (t) => {
  // RTC reads 10:00:00 (so it is in [0 s, 1 s)); the host read it between 10:00:00.200 and .300.
  const at = Date.UTC(2026, 11, 1, 10, 0, 0);
  const r = rtcReadingFrom({ year: 2026, month: 12, day: 1, hour: 10, minute: 0, second: 0 }, at + 200, at + 300);
  // offset in [0 − 0.3, 1 − 0.2] = [−0.3, 0.8]: middle +0.25, half-width 0.55.
  t.same(r, { rtcOffsetS: 0.25, uncertaintyS: 0.55, atMs: at + 250 });
  const g = guestTimeFrom(at / 1000 - 4, at + 200, at + 300);
  // guest in [−4000 − 300, −3000 − 200] ms
  t.same([g.offsetMs, g.uncertaintyMs], [-3750, 550]);
});

t.test('one audit pass over the recorded domains', async (t) => {
  const rec = load('three-domains');
  const { runner, nowMs } = replay(rec);
  const o = { uri: URI, nowMs };
  const local = await auditDomain(runner, o, UUID.localtime, ['rtc', 'guest-agent']);
  t.ok(local.rtc && 'rtcOffsetS' in local.rtc);
  const rtc = local.rtc as { rtcOffsetS: number; uncertaintyS: number };
  // QEMU starts the RTC at the host's whole second (mc146818rtc.c rtc_set_date_from_host: base_rtc =
  // mktimegm(), the sub-second dropped), so it runs up to 1 s behind from the start.
  t.ok(rtc.rtcOffsetS - 28800 <= rtc.uncertaintyS && 28800 - rtc.rtcOffsetS <= rtc.uncertaintyS + 1, `localtime under Asia/Shanghai reads +28800 s (${rtc.rtcOffsetS} ±${rtc.uncertaintyS})`);
  t.ok(rtc.uncertaintyS >= 0.5 && rtc.uncertaintyS < 1, 'half the RTC second plus half the bracket');
  t.match(local.guestTime, { error: { code: 'CW_ERR_COMMAND_FAILED', message: /QEMU guest agent is not configured/ } });
  t.same(local.zone, local.guestTime, 'zone and OS are not asked when the guest agent does not answer');

  const utc = await auditDomain(runner, o, UUID.utc, ['rtc']);
  const u = utc.rtc as { rtcOffsetS: number; uncertaintyS: number };
  t.ok(u.rtcOffsetS <= u.uncertaintyS && -u.rtcOffsetS <= u.uncertaintyS + 1, `utc reads 0 s, up to 1 s behind (${u.rtcOffsetS} ±${u.uncertaintyS})`);
  t.equal(utc.guestTime, null, 'guest-agent not enabled: not audited');

  const ga = await auditDomain(runner, o, UUID.ga, ['rtc', 'guest-agent']);
  t.match(ga.zone, { name: 'JST', offsetS: 32400 });
  t.match(ga.os, { id: 'debian', family: 'linux' });
  const gt = ga.guestTime as { offsetMs: number; uncertaintyMs: number };
  t.ok(gt.offsetMs < -1000, `the TCG guest's clock is seconds behind, as recorded (${gt.offsetMs} ±${gt.uncertaintyMs} ms)`);

  const ro = load('readonly-refused');
  const roRun = replay(ro.map((r) => ({ ...r, args: r.args.filter((a) => a !== '-r') })));
  const refused = await auditDomain(roRun.runner, { uri: URI, nowMs: roRun.nowMs }, UUID.utc, ['rtc']);
  t.match(refused.rtc, { error: { message: /read only access prevents virDomainQemuMonitorCommand/ } });
});

t.test('the LibvirtAudit runs the host audit after each read; the judge sees agentless guests', async (t) => {
  const rec = load('three-domains');
  const { runner, nowMs, calls } = replay(rec);
  const audit = new LibvirtAudit({ uri: URI, runner, nowMs, hostAudit: ['rtc', 'guest-agent'] });
  t.equal(await audit.refresh(), true);
  t.equal(audit.hostAudit?.size, 3);
  t.ok(calls.some((c) => c.includes('qemu-monitor-command')));
  const audits = calls.filter((c) => ['qemu-monitor-command', 'domtime', 'guestinfo'].some((v) => c.includes(v)));
  t.ok(audits.length > 0 && audits.every((c) => !c.includes('-r')), 'the host audit runs over the read-write connection');
  const reads = calls.filter((c) => c.includes('list') || c.includes('dumpxml'));
  t.ok(reads.length > 0 && reads.every((c) => c.includes('-r')), 'the domain reads stay read-only');
  const policy = resolvePolicy(DEFAULT_POLICY, { agentId: 'domain:x', hostname: 'cw-localtime', platform: 'linux', labels: {} });
  const v = judgeAgentless({ domain: audit.joinedDomain(UUID.localtime)!, hostAudit: audit.hostAuditFor(UUID.localtime)!, policy, nowMs: nowMs() });
  t.equal(v.evidence, 'host audit');
  t.equal(v.status, 'noncompliant');
  const by = Object.fromEntries(v.checks.map((c) => [c.id, c]));
  t.same([by.clocksource!.status, by.clocksource!.reason], ['unknown', NO_AGENT]);
  t.same([by.ntp!.status, by.ntp!.reason], ['unknown', NO_AGENT]);
  t.equal(by.rtc!.status, 'fail');
  t.match(by.rtc!.reason, /RTC reads \+(28799|28800) s ±0\.\d s against host UTC: more than 5 s off UTC.*offset='utc'/);
  t.equal(by['libvirt-clock']!.status, 'fail');
  t.match(by['libvirt-clock']!.reason, /offset='localtime'> explains the RTC reading \+(28799|28800) s \(the host's local time, UTC\+08:00\)/);
  t.match(by.offset!.reason, /no agent in this guest; the guest agent time could not be read/);

  const vu = judgeAgentless({ domain: audit.joinedDomain(UUID.utc)!, hostAudit: audit.hostAuditFor(UUID.utc)!, policy, nowMs: nowMs() });
  t.equal(vu.checks.find((c) => c.id === 'rtc')!.status, 'pass');
  // offset='utc' is right for Linux and agrees with the RTC; only the timers virt-manager adds are missing.
  const lu = vu.checks.find((c) => c.id === 'libvirt-clock')!;
  t.match(lu, { status: 'warn', reason: /add <timer name='rtc' tickpolicy='catchup'\/>/ });
  t.notMatch(lu.reason, /inconsistent|offset='utc'>;|explains/);
  t.equal(vu.status, 'unknown', 'what only an agent sees stays unknown');

  const vg = judgeAgentless({ domain: audit.joinedDomain(UUID.ga)!, hostAudit: audit.hostAuditFor(UUID.ga)!, policy, nowMs: nowMs() });
  const g = Object.fromEntries(vg.checks.map((c) => [c.id, c]));
  t.equal(g.offset!.status, 'fail', 'the guest agent says the TCG guest is seconds behind');
  t.match(g.offset!.reason, /guest agent \(virsh domtime, whole seconds\): offset -\d+\.\d ms ±\d+\.\d ms: beyond the 1000 ms limit \(guest behind the host\)/);
  t.match(g.timezone!, { status: 'pass', reason: /zone JST \(UTC\+09:00\)/ });
  t.equal(g.rtc!.status, 'pass', 'family from guest-get-osinfo (no libosinfo metadata on this domain)');
  t.match(vg.libvirt, { family: 'linux' });

  const expectTokyo = resolvePolicy({ ...DEFAULT_POLICY, defaults: { timezone: { expected: 'Europe/Paris' } } } as never, { agentId: 'x', hostname: 'h', platform: 'linux', labels: {} });
  const vz = judgeAgentless({ domain: audit.joinedDomain(UUID.ga)!, hostAudit: audit.hostAuditFor(UUID.ga)!, policy: expectTokyo, nowMs: nowMs() });
  t.match(vz.checks.find((c) => c.id === 'timezone'), { status: 'fail', reason: /policy expects Europe\/Paris/ });
});

t.test('RTC writes between passes are seen (polling)', async (t) => {
  const a = { rtcOffsetS: 0.2, uncertaintyS: 0.55, atMs: 1 };
  t.equal(detectRtcChange(a, { ...a, rtcOffsetS: 3 }, 5), null, 'drift within the limit is not a write');
  t.same(detectRtcChange(a, { ...a, rtcOffsetS: 28800.1, atMs: 2 }, 5), { atMs: 2, fromS: 0.2, toS: 28800.1 });
  t.equal(detectRtcChange(null, a, 5), null);

  // Two passes through the recorded runner, the second with the RTC rewritten to local time.
  const rec = load('three-domains');
  let written = false;
  const base = replay(rec);
  const runner: CommandRunner = async (cmd, args) => {
    const r = await base.runner(cmd, args);
    if (written && args.includes('qemu-monitor-command')) return { ...r, stdout: r.stdout.replace(/"tm_hour":10/, '"tm_hour":18') };
    return r;
  };
  const ha = new HostAudit({ uri: URI, runner, parts: ['rtc'], nowMs: base.nowMs });
  const domains = [{ uuid: UUID.utc, live: true }];
  await ha.pass(domains);
  t.same(ha.evidenceFor(UUID.utc)!.rtcChanges, []);
  written = true;
  const second = await ha.pass(domains);
  t.equal(second.changed, true);
  const changes = ha.evidenceFor(UUID.utc)!.rtcChanges;
  t.equal(changes.length, 1);
  t.ok(Math.abs(changes[0]!.toS - changes[0]!.fromS - 28800) < 2);
  const domain: JoinedDomain = { domain: parseDomainXml(rec.find((r) => r.args[2] === 'dumpxml' && r.args[3] === UUID.utc)!.stdout).ok ? (parseDomainXml(rec.find((r) => r.args[2] === 'dumpxml' && r.args[3] === UUID.utc)!.stdout) as { domain: JoinedDomain['domain'] }).domain : (null as never), source: 's', readAtMs: 0 };
  const policy = resolvePolicy(DEFAULT_POLICY, { agentId: 'x', hostname: 'h', platform: 'linux', labels: {} });
  const v = judgeAgentless({ domain, hostAudit: ha.evidenceFor(UUID.utc)!, policy, nowMs: base.nowMs() });
  t.match(v.checks.find((c) => c.id === 'rtc')!.reason, /the RTC was written 1 time\(s\) between audit passes/);
  // A domain that stops running loses its evidence.
  await ha.pass([{ uuid: UUID.utc, live: false }]);
  t.equal(ha.evidenceFor(UUID.utc), null);
});

t.test('both views: the agent’s RTC reading and the host’s disagree → a finding', async (t) => {
  const ev: HostAuditEvidence = { auditedAtMs: 0, rtc: { rtcOffsetS: 0.1, uncertaintyS: 0.6, atMs: 0 }, guestTime: null, zone: null, os: null, rtcChanges: [] };
  t.equal(rtcDisagreement(0.4, ev, 5), null);
  t.match(rtcDisagreement(28800, ev, 5), /the agent reads the RTC at \+28800 s but the host audit reads QEMU's RTC at \+0\.1 s ±0\.6 s/);
  t.equal(rtcDisagreement(null, ev, 5), null);
  t.equal(rtcDisagreement(28800, { ...ev, rtc: { error: { code: 'CW_ERR_COMMAND_FAILED', message: 'x' } } }, 5), null);
});
