/**
 * Guests without an agent on every surface besides GET /v1/libvirt and `status`: /metrics (through
 * `promtool check metrics`), the exports (CSV, JSON, HTML) and the fleet page (real chromium).
 * The host audit runs through the collector's LibvirtAudit with a runner that answers as libvirtd
 * 9.0 + QEMU 7.2 did (test/fixtures/commands/host-audit/three-domains.json), the RTC and guest
 * times answered at the current instant so the readings do not age: cw-localtime's RTC keeps
 * +28800 s (Asia/Shanghai local time), cw-utc's 0 s, cw-ga has a guest agent (JST, Debian) and an
 * agent of its own in the store (both views).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Compliance, ExportService, openSqliteStore } from '@clockwatch/collector';
import type { CommandRunner } from '@clockwatch/shared';
import { LibvirtAudit } from '../../packages/collector/dist/libvirt/index.js';
import { appWith, makeReport, parsePrometheus, recordOf } from '../collector/helpers.js';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { promtool, promtoolSkip } from '../integration/live-fleet.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'commands', 'host-audit');
const rec = JSON.parse(readFileSync(join(dir, 'three-domains.json'), 'utf8')) as { args: string[]; code: number; stdout: string; stderr: string }[];
const URI = 'qemu:///system';
const UUID = { localtime: '6953ad2f-3802-4e90-a135-491879444f3d', utc: '463ecdd2-6b23-4bb6-bbdf-7e37a0119c92', ga: 'bf22a9d2-7c09-4559-923a-424b7df9b3a4' };
const RTC_OFFSET_S: Record<string, number> = { [UUID.localtime]: 28_800, [UUID.utc]: 0, [UUID.ga]: 0 };

/** The recorded answers; QOM rtc-time and domtime computed from now (their recorded shapes). */
const runner: CommandRunner = async (_cmd, args) => {
  const a = args.filter((x) => x !== '-r');
  const verb = a[2];
  const uuid = a.find((x) => x in RTC_OFFSET_S) ?? '';
  if (verb === 'qemu-monitor-command') {
    const d = new Date(Math.floor(Date.now() / 1000) * 1000 + (RTC_OFFSET_S[uuid] ?? 0) * 1000);
    const tm = { tm_year: d.getUTCFullYear() - 1900, tm_sec: d.getUTCSeconds(), tm_hour: d.getUTCHours(), tm_min: d.getUTCMinutes(), tm_mon: d.getUTCMonth(), tm_mday: d.getUTCDate() };
    return { code: 0, stdout: `${JSON.stringify({ return: tm, id: 'libvirt-415' })}\n\n`, stderr: '' };
  }
  if (verb === 'domtime' && uuid === UUID.ga) return { code: 0, stdout: `Time: ${Math.floor(Date.now() / 1000)}\n`, stderr: '' };
  const r = rec.find((x) => JSON.stringify(x.args) === JSON.stringify(a));
  return r ? { code: r.code, stdout: r.stdout, stderr: r.stderr } : { code: 1, stdout: '', stderr: `error: no recording for ${a.join(' ')}\n` };
};

/** An agent in cw-ga (its SMBIOS UUID is the domain's): that guest has both views. */
function agentInGa() {
  const report = makeReport({ agentId: 'ga-agent', hostname: 'cw-ga', atMs: Date.now() - 1000 });
  (report.agent as { systemUuid: string | null }).systemUuid = UUID.ga;
  return recordOf(report, Date.now() - 900);
}

t.test('/metrics: every audited domain with its evidence source; promtool is clean', async (t) => {
  const c = await appWith({ libvirt: { uri: URI, runner, hostAudit: ['rtc', 'guest-agent'] } });
  t.teardown(() => c.close());
  await c.store.write([agentInGa()]);
  await c.app.ready();
  const text = (await c.app.inject({ method: 'GET', url: '/metrics' })).body;
  const samples = parsePrometheus(text);
  const get = (name: string, uuid: string) => samples.filter((s) => s.name === name && s.labels.domain_uuid === uuid);
  t.same(get('clockwatch_host_audit_info', UUID.localtime).map((s) => s.labels), [{ domain_uuid: UUID.localtime, domain: 'cw-localtime', evidence: 'host audit', agent: '' }]);
  t.same(get('clockwatch_host_audit_info', UUID.ga).map((s) => [s.labels.evidence, s.labels.agent]), [['both', 'ga-agent']], 'a guest with an agent: both');
  t.same(get('clockwatch_host_audit_status', UUID.localtime).map((s) => s.labels.status), ['noncompliant'], 'the judge: a Linux RTC in local time');
  t.same(get('clockwatch_host_audit_status', UUID.ga), [], 'no second status for a guest whose agent has its own');
  const cs = get('clockwatch_host_audit_check_status', UUID.utc).find((s) => s.labels.check === 'clocksource');
  t.equal(cs?.labels.status, 'unknown', 'clocksource: unknown without an agent');
  const rtc = get('clockwatch_host_audit_rtc_offset_seconds', UUID.localtime)[0]?.value ?? NaN;
  t.ok(Math.abs(rtc - 28_800) <= 1.5, `RTC +28800 s (${rtc})`);
  t.ok((get('clockwatch_host_audit_rtc_offset_uncertainty_seconds', UUID.localtime)[0]?.value ?? 0) >= 0.5, 'with its uncertainty');
  t.same(get('clockwatch_host_audit_guest_zone_offset_seconds', UUID.ga).map((s) => s.value), [32_400]);
  t.same(get('clockwatch_host_audit_guest_offset_seconds', UUID.localtime), [], 'no guest agent: no guest offset');
  const counts: Record<string, number> = Object.fromEntries(samples.filter((s) => s.name === 'clockwatch_host_audit_agentless_guests').map((s) => [s.labels.status, s.value]));
  t.equal(counts.noncompliant, 1);
  t.equal(Object.values(counts).reduce((a, b) => a + b, 0), 2, 'two guests without an agent');
  if (promtoolSkip) t.comment(promtoolSkip);
  else {
    const lint = promtool(['check', 'metrics'], text);
    t.equal(lint.code, 0, `promtool check metrics\n${lint.stdout}${lint.stderr}`);
    t.equal(`${lint.stdout}${lint.stderr}`.trim(), '', 'no lint message');
  }

  const off = await appWith({ libvirt: { uri: URI, runner } });
  t.teardown(() => off.close());
  t.notMatch((await off.app.inject({ method: 'GET', url: '/metrics' })).body, /clockwatch_host_audit_/, 'no host audit families without --host-audit');
  t.equal((await c.app.inject({ method: 'GET', url: '/v1/compliance' })).json().hostAudit, true, '/v1/compliance tells the page to ask /v1/libvirt');
  t.equal((await off.app.inject({ method: 'GET', url: '/v1/compliance' })).json().hostAudit, undefined);
});

t.test('exports: agentless guests in CSV, JSON and HTML; the agent the host audited too says both', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  t.teardown(() => store.close());
  await store.write([agentInGa()]);
  const libvirt = new LibvirtAudit({ uri: URI, runner, nowMs: Date.now, hostAudit: ['rtc', 'guest-agent'] });
  t.equal(await libvirt.refresh(), true);
  const service = new ExportService({ store, compliance: new Compliance(undefined, libvirt), libvirt });
  const now = Date.now();
  const data = await service.buildData({ fromMs: now - 3_600_000, toMs: now + 1000 }, now);
  const files = Object.fromEntries(service.render(data).map((f) => [f.format, f.content]));

  const lines = (files.csv as string).trimEnd().split('\r\n');
  const header = (lines[0] as string).split(',');
  /** RFC 4180 fields of one line (quoted fields may hold commas). */
  const fields = (line: string) => [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) => (m[1] as string).replace(/^"|"$/g, '').replace(/""/g, '"'));
  const col = (line: string, name: string) => fields(line)[header.indexOf(name)];
  const local = lines.find((l) => l.startsWith(`domain:${UUID.localtime},`));
  t.ok(local, 'a CSV row for the guest without an agent');
  t.equal(col(local!, 'evidence'), 'host audit');
  t.equal(col(local!, 'status'), 'noncompliant');
  t.equal(col(local!, 'check_clocksource'), 'unknown');
  t.ok(Math.abs(Number(col(local!, 'rtc_offset_s')) - 28_800) <= 1.5, 'its RTC offset as the host read it');
  t.match(local, /no agent in this guest/, 'the reasons say why');
  const ga = lines.find((l) => l.startsWith('ga-agent,'));
  t.equal(col(ga!, 'evidence'), 'both', 'the agent whose domain the host audited too');
  t.notOk(lines.some((l) => l.startsWith(`domain:${UUID.ga},`)), 'a guest with an agent is not listed again as agentless');

  const json = JSON.parse(files.json as string) as { rows: { id: string; evidence: string }[]; agentless: { id: string; evidence: string; status: string; has: string[]; lacks: string[]; rtcOffsetS: number }[]; summary: { agents: number } };
  t.same(json.agentless.map((g) => g.id).sort(), [`domain:${UUID.localtime}`, `domain:${UUID.utc}`].sort());
  const jl = json.agentless.find((g) => g.id === `domain:${UUID.localtime}`)!;
  t.match(jl, { evidence: 'host audit', status: 'noncompliant' });
  t.ok(jl.has.some((x) => /RTC/.test(x)) && jl.lacks.some((x) => /clocksource/.test(x)) && jl.lacks.some((x) => /guest time .*not configured/.test(x)), 'what it has and lacks');
  t.same(json.rows.map((r) => [r.id, r.evidence]), [['ga-agent', 'both']]);
  t.equal(json.summary.agents, 1, 'the summary still counts agents only');

  const html = files.html as string;
  t.match(html, /<section id="agentless">/);
  t.match(html, /Guests without an agent — audited from the host \(2\)/);
  t.match(html, new RegExp(`data-domain-uuid="${UUID.localtime}"[^]*?no agent — audited from host[^]*?cw-localtime`));
  t.match(html, /Lacks: [^<]*clocksource \(no agent in this guest\)/);

  const plain = new ExportService({ store, compliance: new Compliance() });
  const d2 = await plain.buildData({ fromMs: now - 3_600_000, toMs: now + 1000 }, now);
  const f2 = Object.fromEntries(plain.render(d2).map((f) => [f.format, f.content]));
  t.notMatch(f2.html, /id="agentless"/, 'no section without --host-audit');
  t.equal(JSON.parse(f2.json as string).agentless, undefined);
  t.ok((f2.csv as string).trimEnd().split('\r\n').slice(1).every((l) => col(l, 'evidence') === 'agent'), 'every CSV row says agent');
});

t.test('the fleet page lists guests without an agent, badged, with what the audit has and lacks', { skip: chromiumSkip }, async (t) => {
  const c = await appWith({ libvirt: { uri: URI, runner, hostAudit: ['rtc', 'guest-agent'] } });
  t.teardown(() => c.close());
  await c.store.write([agentInGa()]);
  const base = await c.app.listen({ host: '127.0.0.1', port: 0 });
  const session = await launchChromium();
  t.teardown(() => session.close());
  const page = await session.context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/`);
  await page.waitForSelector('#agentless tbody tr');
  const rows = await page.$$eval('#agentless tbody tr', (trs) => trs.map((tr) => ({ uuid: tr.getAttribute('data-domain-uuid'), status: tr.getAttribute('data-status'), text: (tr as HTMLElement).innerText })));
  t.same(rows.map((r) => r.uuid).sort(), [UUID.localtime, UUID.utc].sort(), 'the two guests without an agent, not the one with');
  const local = rows.find((r) => r.uuid === UUID.localtime)!;
  t.equal(local.status, 'noncompliant');
  t.match(local.text, /no agent — audited from host/);
  t.match(local.text, /cw-localtime/);
  t.match(local.text, /rtc\s+fail/);
  t.match(local.text, /clocksource\s+unknown/);
  t.match(local.text, /\+8\.0 h ± 0\.\d\d s/, 'the RTC offset with its uncertainty');
  t.match(local.text, /Has: RTC/);
  t.match(local.text, /Lacks: .*clocksource \(no agent in this guest\)/);
  t.match(await page.textContent('#agentless h2'), /Guests without an agent — audited from the host \(2\)/);
  const agentRows = await page.$$eval('#agents tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-agent-id')));
  t.same(agentRows, ['ga-agent'], 'the agents table keeps the agents');
  t.same(problems, [], 'no page error');
});
