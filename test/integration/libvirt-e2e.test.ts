/**
 * The libvirt clock audit wired into serve: `--libvirt-xml-dir` over a copy of the fixture domains,
 * reports posted over HTTP by guests whose SMBIOS UUIDs are those domains'. The Linux guest under
 * `<clock offset='localtime'>` whose RTC reads +8 h is one diagnosis (the libvirt-clock reason
 * names the XML to write and the rtc check points at it); the Windows guest under localtime with
 * hypervclock passes; an agent without a domain has no libvirt-clock check and is listed as such;
 * the fleet view, its status filter, the compliance summary, an export and `status` all count it.
 */
import t from 'tap';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { FIXTURE_BASE_MS, loadCase, repoRoot, shift } from '../collector/helpers.js';
import { parseCsv, runCliAsync, serve, until } from './helpers.js';

const LINUX_LOCALTIME_UUID = '9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68'; // linux-localtime.xml (db-alma9)
const WINDOWS_UUID = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f'; // windows-localtime-hypervclock.xml, written in capitals there

t.test('serve --libvirt-xml-dir: verdicts joined by SMBIOS UUID, one diagnosis, listed partners', async (t) => {
  const dir = t.testdir({ xml: {} });
  const src = join(repoRoot, 'test', 'fixtures', 'libvirt');
  for (const f of readdirSync(src).filter((n) => n.endsWith('.xml'))) cpSync(join(src, f), join(dir, 'xml', f));
  const served = await serve(['--db', join(dir, 'clockwatch.db'), '--libvirt-xml-dir', join(dir, 'xml'), '--export-dir', join(dir, 'exports')]);
  t.teardown(() => served.stop());
  // The first read is awaited for at most 2 s before listening; on a loaded machine it may finish after.
  await until(() => (/"msg":"libvirt: read 7 domain\(s\)"/.test(served.logs()) ? true : undefined), 20_000, 'the first read of the domains');
  const pool = new Pool(served.url, { connections: 2 });
  t.teardown(() => pool.close());
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await pool.request({ method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  // Fixture reports moved to now, each with its guest's SMBIOS UUID.
  const now = Date.now();
  const guest = (name: string, id: string, uuid: string) => {
    const r = shift(loadCase(name).report, now - 2_000 - FIXTURE_BASE_MS);
    r.agent.id = id;
    r.agent.systemUuid = uuid;
    r.reportId = `${id}-${now}`;
    return r;
  };
  const reports = [
    guest('rtc-localtime-shanghai', 'vm-db-alma9', LINUX_LOCALTIME_UUID),
    guest('windows-rtc-localtime', 'vm-win-2022', WINDOWS_UUID.toUpperCase()),
    guest('kvm-linux-compliant', 'vm-elsewhere', '00000000-1111-4222-8333-444444444444'),
  ];
  const ingest = await call('POST', '/v1/reports', reports);
  t.equal(ingest.status, 200);
  t.equal(ingest.body.accepted, 3);

  // The Linux guest: the agent view states the diagnosis once, with the XML to write.
  const linux = await call('GET', '/v1/agents/vm-db-alma9');
  t.equal(linux.status, 200);
  const checks = Object.fromEntries((linux.body.verdict.checks as { id: string; status: string; reason: string }[]).map((c) => [c.id, c])) as Record<string, { status: string; reason: string }>;
  const lc = checks['libvirt-clock'] ?? { status: 'absent', reason: '' };
  const rtc = checks.rtc ?? { status: 'absent', reason: '' };
  t.equal(lc.status, 'fail');
  t.equal(
    lc.reason,
    "configured <clock offset='localtime'> explains the RTC reading +28800 s (the host's local time, UTC+08:00); set <clock offset='utc'>",
    'one finding that ties the configuration to the measured RTC',
  );
  t.equal(rtc.status, 'fail');
  t.match(rtc.reason, /; same cause as libvirt-clock: configured <clock offset='localtime'> explains the RTC reading \+28800 s/, 'the rtc check names the same cause');
  t.equal(linux.body.verdict.status, 'noncompliant');
  t.equal(linux.body.agent.checks['libvirt-clock'], 'fail');
  t.match(linux.body.libvirt.domain, { name: 'db-alma9', uuid: LINUX_LOCALTIME_UUID, source: join(dir, 'xml', 'linux-localtime.xml'), live: false, readAtMs: Number, readError: null });
  t.match(linux.body.libvirt.check.recommendedXml, /^<clock offset='utc'><timer name='rtc' tickpolicy='catchup'\/>/);

  // The Windows guest (UUID in capitals in its report): passes.
  const win = await call('GET', '/v1/agents/vm-win-2022');
  const wcheck = (win.body.verdict.checks as { id: string; status: string; reason: string }[]).find((c) => c.id === 'libvirt-clock');
  t.equal(wcheck?.status, 'pass', wcheck?.reason ?? 'no libvirt-clock check');
  // (compliant, or warning when this test host is not NTP-synchronised: the offset check says so)
  t.match(win.body.verdict.status, /^(compliant|warning)$/, 'a passing libvirt-clock check changes nothing');

  // No domain: no libvirt-clock check, and a note why.
  const other = await call('GET', '/v1/agents/vm-elsewhere');
  t.notOk((other.body.verdict.checks as { id: string }[]).some((c) => c.id === 'libvirt-clock'));
  t.equal(other.body.libvirt.domain, null);
  t.match(other.body.libvirt.note, /no libvirt domain read by this collector has the UUID 00000000-1111-4222-8333-444444444444/);

  // The fleet view counts the check; the status filter sees it.
  const fleet = await call('GET', '/v1/agents');
  const rows = Object.fromEntries((fleet.body.agents as { id: string; status: string; checks: Record<string, string> }[]).map((a) => [a.id, a]));
  t.equal(rows['vm-db-alma9']?.checks['libvirt-clock'], 'fail');
  t.equal(rows['vm-win-2022']?.checks['libvirt-clock'], 'pass');
  t.equal(rows['vm-elsewhere']?.checks['libvirt-clock'], undefined);
  const noncompliant = await call('GET', '/v1/agents?status=noncompliant');
  t.same(noncompliant.body.agents.map((a: { id: string }) => a.id), ['vm-db-alma9']);
  t.equal(noncompliant.body.total, 1);
  const compliant = await call('GET', '/v1/agents?status=compliant,warning&limit=1');
  t.equal(compliant.body.total, 2);
  t.equal(compliant.body.agents.length, 1, 'paged after the filter');
  const summary = await call('GET', '/v1/compliance');
  t.same(summary.body.byCheck['libvirt-clock'], { fail: 1, warn: 0, unknown: 0 });
  t.equal(summary.body.byStatus.noncompliant, 1);

  // The audit itself: every domain with its verdict, the ones without an agent, the agent without a domain.
  const audit = await call('GET', '/v1/libvirt');
  t.equal(audit.body.domains.length, 7);
  t.same(audit.body.domains.find((d: { name: string }) => d.name === 'db-alma9').agents.map((a: { id: string }) => a.id), ['vm-db-alma9']);
  t.equal(audit.body.domainsWithoutAgent.length, 5);
  t.same(audit.body.agentsWithoutDomain.map((a: { id: string }) => a.id), ['vm-elsewhere']);

  // An export counts it too: the CSV has the libvirt-clock column and the reason. (The scheduler's
  // catch-up of yesterday runs at start: wait for it, a second run would be refused with 409.)
  await until(async () => ((await call('GET', '/v1/exports')).body.running === false ? true : undefined), 20_000, 'the catch-up export');
  const run = await call('POST', '/v1/exports', { fromMs: now - 3_600_000, toMs: Date.now() });
  t.equal(run.status, 200);
  const csvFile = (run.body.files as { name: string; url: string }[]).find((f) => f.name.endsWith('.csv')) as { url: string };
  const csvRes = await pool.request({ method: 'GET', path: csvFile.url });
  const csv = parseCsv(await csvRes.body.text());
  const header = csv[0] as string[];
  const row = csv.find((r) => r[0] === 'vm-db-alma9') as string[];
  t.equal(row[header.indexOf('check_libvirt_clock')], 'fail');
  t.equal(row[header.indexOf('status')], 'noncompliant');
  t.match(row[header.indexOf('problems')], /libvirt-clock: configured <clock offset='localtime'> explains the RTC reading \+28800 s/);
  t.equal((csv.find((r) => r[0] === 'vm-elsewhere') as string[])[header.indexOf('check_libvirt_clock')], '', 'no domain: an empty cell');

  // The JSON and the HTML list what has no partner.
  const jsonFile = (run.body.files as { name: string; url: string }[]).find((f) => f.name.endsWith('.json')) as { url: string };
  const exported = (await (await pool.request({ method: 'GET', path: jsonFile.url })).body.json()) as { libvirt: { readAtMs: number; domainsWithoutAgent: { name: string }[]; agentsWithoutDomain: { id: string }[] } };
  t.equal(exported.libvirt.domainsWithoutAgent.length, 5);
  t.notOk(exported.libvirt.domainsWithoutAgent.some((d) => d.name === 'db-alma9'));
  t.same(exported.libvirt.agentsWithoutDomain.map((a) => a.id), ['vm-elsewhere']);
  t.ok(exported.libvirt.readAtMs > 0);
  const htmlFile = (run.body.files as { name: string; url: string }[]).find((f) => f.name.endsWith('.html')) as { url: string };
  const html = await (await pool.request({ method: 'GET', path: htmlFile.url })).body.text();
  t.match(html, /<h3>Domains without an agent \(5\)<\/h3>/);
  t.match(html, /<h3>Agents without a domain \(1\)<\/h3><ul><li>web-01 <span class="small id">vm-elsewhere · UUID 00000000-1111-4222-8333-444444444444<\/span><\/li><\/ul>/);

  // And the terminal status over HTTP.
  const status = await runCliAsync(['status', '--url', served.url]);
  t.equal(status.code, 0, status.stderr);
  // Reasons are on their own indented lines below the agent's (continuations joined here).
  t.match(status.stdout.replace(/\n {6}/g, ' '), /^noncompliant +\S+ \(vm-db-alma9\) [^\n]*\n(?: {4}[^\n]*\n)*? {4}libvirt-clock fail: configured <clock offset='localtime'> explains/m);
});
