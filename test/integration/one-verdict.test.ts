/**
 * One verdict everywhere: a fleet of agents in different states, judged under three policies (one
 * at the first start, another after a restart on the same database, a third after SIGHUP), one
 * agent joined to a libvirt domain (--libvirt-xml-dir, the domain's UUID is the agent's SMBIOS
 * UUID). Every surface must give every agent the same status and the same per-check statuses:
 * the ingest reply, GET /v1/agents, GET /v1/agents/:id, GET /v1/compliance, GET /v1/libvirt,
 * /metrics, `status --url`, `status --db`, the export the collector writes (POST /v1/exports,
 * the scheduler's path) and `export --db`. After an outage (reports spooled without a time probe,
 * then one measured), the latest state is the newest measured report and history is in the
 * guest's order.
 */
import t, { type Test } from 'tap';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import type { Report } from '@clockwatch/shared';
import { FIXTURE_BASE_MS, loadCase, parsePrometheus, repoRoot, shift } from '../collector/helpers.js';
import { parseCsv, runCliAsync, serve, until, type Served } from './helpers.js';

const LOCALTIME_UUID = '9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68'; // test/fixtures/libvirt/linux-localtime.xml

type Judged = { status: string; checks: Record<string, string> };
type Fleet = Record<string, Judged>;

const POLICIES = {
  // 1: the built-in defaults.
  defaults: { version: 1 },
  // 2: every guest in Europe/Paris, and tsc allowed: timezone fails for all, clocksource passes for vm-tsc.
  paris: { version: 1, defaults: { timezone: { expected: 'Europe/Paris' }, clocksource: { allowed: ['kvm-clock', 'tsc'] } } },
  // 3: a 10 s fail limit (vm-ahead only warns), no libvirt-clock check, no NTP check for vm-ok.
  loose: {
    version: 1,
    defaults: { offset: { warnMs: 50, failMs: 10_000 }, 'libvirt-clock': { enabled: false } },
    rules: [{ name: 'ok-without-ntp', match: { agentId: 'vm-ok' }, set: { ntp: { enabled: false } } }],
  },
};

function fleetReports(nowMs: number): Report[] {
  let n = 0;
  const at = (name: string, id: string, over: (r: Report) => void = () => undefined) => {
    const r = shift(loadCase(name).report, nowMs - 2_000 - FIXTURE_BASE_MS);
    r.agent.id = id;
    r.agent.hostname = id;
    r.agent.intervalS = 3600;
    // A UUID of its own (no domain has it) unless the case gives it the domain's.
    r.agent.systemUuid = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    r.reportId = `${id}-${nowMs}`;
    over(r);
    return r;
  };
  return [
    at('kvm-linux-compliant', 'vm-ok'),
    at('clocksource-tsc', 'vm-tsc'),
    at('offset-guest-ahead-5s', 'vm-ahead'),
    at('rtc-localtime-shanghai', 'vm-localtime', (r) => (r.agent.systemUuid = LOCALTIME_UUID)),
    at('wrong-timezone', 'vm-berlin'),
    at('windows-rtc-localtime', 'vm-win'),
    // Reports every second: stale three seconds after its last report.
    at('kvm-linux-compliant', 'vm-gone', (r) => (r.agent.intervalS = 1)),
  ];
}

/** An outage: three reports spooled without a time probe (the exchange failed), then one measured; one request, as the agent sends its spool. */
function outageReports(nowMs: number): Report[] {
  return [1, 2, 3, 4].map((seq) => {
    const r = shift(loadCase('kvm-linux-compliant').report, nowMs - (5 - seq) * 60_000 - FIXTURE_BASE_MS);
    r.agent.id = 'vm-outage';
    r.agent.hostname = 'vm-outage';
    r.agent.intervalS = 3600;
    r.agent.systemUuid = '00000000-0000-4000-8000-00000000dead';
    r.seq = seq;
    r.reportId = `vm-outage-${nowMs}-${seq}`;
    if (seq < 4) r.timeProbe = { error: { code: 'CW_ERR_PROBE', message: 'connect ECONNREFUSED 127.0.0.1:9' } };
    return r;
  });
}

const norm = (checks: Record<string, string>) => Object.fromEntries(Object.entries(checks).sort(([a], [b]) => (a < b ? -1 : 1)));
const fromVerdict = (v: { status: string; checks: { id: string; status: string }[] }): Judged => ({ status: v.status, checks: norm(Object.fromEntries(v.checks.map((c) => [c.id, c.status]))) });

async function client(served: Served, t: Test) {
  const pool = new Pool(served.url, { connections: 2 });
  t.teardown(() => pool.close());
  return async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await pool.request({ method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as any };
  };
}

/** Reads every surface and checks that each agrees with the agent view (GET /v1/agents/:id). */
async function everySurfaceAgrees(t: Test, served: Served, dir: string, policyFile: string, label: string): Promise<Fleet> {
  const call = await client(served, t);
  const list = (await call('GET', '/v1/agents?limit=1000')).json() as { agents: (Judged & { id: string })[] };
  const ids = list.agents.map((a) => a.id).sort();
  const reference: Fleet = {};
  for (const id of ids) {
    const one = (await call('GET', `/v1/agents/${id}`)).json();
    reference[id] = fromVerdict(one.verdict);
    t.same({ status: one.agent.status, checks: norm(one.agent.checks) }, reference[id], `${label}: /v1/agents/:id row = its verdict (${id})`);
  }
  const surfaces: Record<string, Fleet> = {};
  surfaces['/v1/agents'] = Object.fromEntries(list.agents.map((a) => [a.id, { status: a.status, checks: norm(a.checks) }]));

  // /metrics: one series of value 1 per agent with its status, and one per check with its status.
  const samples = parsePrometheus((await call('GET', '/metrics')).text);
  const m: Fleet = {};
  for (const s of samples) {
    const id = s.labels.agent;
    if (!id || s.value !== 1) continue;
    const a = (m[id] ??= { status: '?', checks: {} });
    if (s.name === 'clockwatch_agent_status') a.status = s.labels.status as string;
    if (s.name === 'clockwatch_agent_check_status') a.checks[s.labels.check as string] = s.labels.status as string;
  }
  const fleetOf = (f: Fleet): Fleet => Object.fromEntries(Object.entries(f).filter(([, a]) => a.status !== '?').map(([id, a]) => [id, { status: a.status, checks: norm(a.checks) }]));
  t.same(fleetOf(m), fleetOf(reference), `${label}: /metrics (every status and check status exactly)`);

  // /v1/compliance: counts by status and by check.
  const summary = (await call('GET', '/v1/compliance')).json();
  const byStatus: Record<string, number> = { compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 };
  const byCheck: Record<string, { fail: number; warn: number; unknown: number }> = {};
  for (const a of Object.values(reference)) {
    byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    for (const [c, s] of Object.entries(a.checks)) if (s !== 'pass') ((byCheck[c] ??= { fail: 0, warn: 0, unknown: 0 }) as Record<string, number>)[s]!++;
  }
  t.same(summary.byStatus, byStatus, `${label}: /v1/compliance by status`);
  const nonzero = (o: Record<string, { fail: number; warn: number; unknown: number }>) =>
    Object.fromEntries(Object.entries(o).filter(([, c]) => c.fail + c.warn + c.unknown > 0).sort(([a], [b]) => (a < b ? -1 : 1)));
  t.same(nonzero(summary.byCheck), nonzero(byCheck), `${label}: /v1/compliance by check`);

  // /v1/libvirt: the joined agent, its status, and the domain's check = the agent's libvirt-clock.
  const lv = (await call('GET', '/v1/libvirt')).json();
  const joined = lv.domains.find((d: { uuid: string }) => d.uuid === LOCALTIME_UUID);
  t.same(joined.agents.map((a: { id: string; status: string }) => [a.id, a.status]), [['vm-localtime', reference['vm-localtime']!.status]], `${label}: /v1/libvirt joined agent`);
  if (reference['vm-localtime']!.checks['libvirt-clock']) t.equal(joined.check.status, reference['vm-localtime']!.checks['libvirt-clock'], `${label}: /v1/libvirt domain check`);
  for (const a of lv.agentsWithoutDomain as { id: string; status: string }[]) t.equal(a.status, reference[a.id]?.status, `${label}: /v1/libvirt agent without domain ${a.id}`);

  // status --url and status --db (the same policy file and domains).
  const asStatus = (doc: { agents: (Judged & { id: string })[] }): Fleet => Object.fromEntries(doc.agents.map((a) => [a.id, { status: a.status, checks: norm(a.checks) }]));
  const byUrl = await runCliAsync(['status', '--url', served.url, '--json']);
  t.equal(byUrl.code, 0, byUrl.stderr);
  surfaces['status --url'] = asStatus(JSON.parse(byUrl.stdout));
  const byDb = await runCliAsync(['status', '--db', join(dir, 'clockwatch.db'), '--policy', policyFile, '--libvirt-xml-dir', join(dir, 'xml'), '--json']);
  t.equal(byDb.code, 0, byDb.stderr);
  surfaces['status --db'] = asStatus(JSON.parse(byDb.stdout));

  // The collector's export (POST /v1/exports: the manager the scheduler runs) and `export --db`, up to now.
  const toMs = Date.now() - 1;
  const fromMs = toMs - 3_600_000;
  const run = await call('POST', '/v1/exports', { fromMs, toMs });
  t.equal(run.status, 200, run.text);
  const files = run.json().files as { name: string; url: string }[];
  const jsonFile = files.find((f) => f.name.endsWith('.json'))!;
  const served_ = JSON.parse((await call('GET', jsonFile.url)).text) as { rows: (Judged & { id: string })[] };
  surfaces['served export (json)'] = asStatus({ agents: served_.rows });
  const csvFile = files.find((f) => f.name.endsWith('.csv'))!;
  const csv = parseCsv((await call('GET', csvFile.url)).text).filter((r) => !r[0]?.startsWith('#'));
  const head = csv[0] as string[];
  const col = (n: string) => head.indexOf(n);
  surfaces['served export (csv)'] = Object.fromEntries(
    csv.slice(1).map((r) => [
      r[col('agent_id')] as string,
      { status: r[col('status')] as string, checks: norm(Object.fromEntries(head.filter((h) => h.startsWith('check_')).map((h) => [h.slice(6).replace(/_/g, '-'), r[col(h)] as string]).filter(([, v]) => v !== ''))) },
    ]),
  );
  const out = join(dir, `export-${label.replace(/\W+/g, '-')}.json`);
  const ex = await runCliAsync(['export', '--db', join(dir, 'clockwatch.db'), '--policy', policyFile, '--libvirt-xml-dir', join(dir, 'xml'), '--from', String(fromMs), '--to', String(toMs), '--format', 'json', '--out', out]);
  t.equal(ex.code, 0, ex.stderr);
  surfaces['export --db'] = asStatus({ agents: (JSON.parse(readFileSync(out, 'utf8')) as { rows: (Judged & { id: string })[] }).rows });

  for (const [name, fleet] of Object.entries(surfaces)) t.same(fleet, reference, `${label}: ${name} = the agent view for every agent`);
  return reference;
}

// Three collector starts and a dozen CLI runs: far more than the default per-file limit on a busy machine.
t.setTimeout(900_000);

t.test('every surface shows the one verdict, under three policies, after a restart and after SIGHUP', async (t) => {
  const dir = t.testdir({ xml: {} });
  cpSync(join(repoRoot, 'test', 'fixtures', 'libvirt', 'linux-localtime.xml'), join(dir, 'xml', 'linux-localtime.xml'));
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICIES.defaults));
  const args = ['--db', join(dir, 'clockwatch.db'), '--policy', policyFile, '--libvirt-xml-dir', join(dir, 'xml'), '--export-dir', join(dir, 'exports')];

  let served = await serve(args);
  t.teardown(() => served.stop());
  await until(() => (/"msg":"libvirt: read 1 domain\(s\)"/.test(served.logs()) ? true : undefined), 20_000, 'the first read of the domains');
  let call = await client(served, t);

  // The ingest reply is the verdict: the libvirt-clock check of the joined agent included.
  const now = Date.now();
  const ingest = await call('POST', '/v1/reports', [...fleetReports(now), ...outageReports(now)]);
  t.equal(ingest.status, 200, ingest.text);
  const replies: Fleet = Object.fromEntries((ingest.json().results as { agentId: string; verdict: never }[]).map((r) => [r.agentId, fromVerdict(r.verdict)]));
  t.equal(replies['vm-localtime']?.checks['libvirt-clock'], 'fail', 'the ingest reply has the libvirt-clock check');

  // After an outage the latest state is the newest measured report, history in the guest's order.
  const outage = (await call('GET', '/v1/agents/vm-outage')).json();
  t.equal(outage.seq, 4, 'latest is seq 4');
  t.type(outage.measurement.offsetMs, 'number', 'with its offset');
  const hist = (await call('GET', `/v1/agents/vm-outage/history?from=${now - 3_600_000}&to=${now + 60_000}`)).json();
  t.same(hist.points.map((p: { seq: number }) => p.seq), [1, 2, 3, 4], 'history in collection order');
  t.same(hist.points.map((p: { placedBy: string }) => p.placedBy), ['last-offset', 'last-offset', 'last-offset', 'probe'], 'and says how each was placed');

  // vm-gone is stale 3 s after its report: wait, so that no surface reads it on the edge.
  await new Promise((r) => setTimeout(r, 4_000));
  const first = await everySurfaceAgrees(t, served, dir, policyFile, 'defaults');
  for (const [id, v] of Object.entries(replies)) {
    const { reporting: _r, ...checks } = first[id]!.checks;
    const { reporting: _i, ...replyChecks } = v.checks;
    t.same(replyChecks, checks, `the ingest reply of ${id} = its verdict (reporting aside: judged at receipt)`);
  }
  t.equal(first['vm-gone']?.status, 'stale');
  t.equal(first['vm-tsc']?.checks.clocksource, 'fail');
  t.equal(first['vm-berlin']?.checks.timezone, 'pass');
  t.equal(first['vm-localtime']?.checks['libvirt-clock'], 'fail');
  t.equal(first['vm-ahead']?.checks.offset, 'fail');

  // Restart with another policy: every stored latest state is judged again before the first answer.
  await served.stop();
  writeFileSync(policyFile, JSON.stringify(POLICIES.paris));
  served = await serve(args);
  call = await client(served, t);
  t.match(served.logs(), /rejudged 8 agent\(s\) \(start\): \d+ changed status/, 'the start re-judges and says what changed');
  const second = await everySurfaceAgrees(t, served, dir, policyFile, 'paris after restart');
  t.equal(second['vm-tsc']?.checks.clocksource, 'pass', 'the new policy decides the status, not only the reasons');
  t.equal(second['vm-berlin']?.checks.timezone, 'fail');
  t.equal(second['vm-ok']?.status, 'noncompliant');

  // SIGHUP with a third policy.
  writeFileSync(policyFile, JSON.stringify(POLICIES.loose));
  served.signal('SIGHUP');
  await until(() => (/rejudged 8 agent\(s\) \(SIGHUP\)/.test(served.logs()) ? true : undefined), 20_000, 'the rejudge after SIGHUP');
  const third = await everySurfaceAgrees(t, served, dir, policyFile, 'loose after SIGHUP');
  t.equal(third['vm-ahead']?.checks.offset, 'warn');
  t.notOk('libvirt-clock' in (third['vm-localtime']?.checks ?? {}), 'libvirt-clock disabled by the policy');
  t.notOk('ntp' in (third['vm-ok']?.checks ?? {}), 'a rule turned the ntp check off for vm-ok');
  t.equal(third['vm-berlin']?.checks.timezone, 'pass');

  // A bad file on SIGHUP keeps the policy in force and says why.
  writeFileSync(policyFile, '{"version": 1, "defaults": {"offset": {"warnMs": "soon"}}}');
  served.signal('SIGHUP');
  await until(() => (/SIGHUP: the configuration did not load, nothing changed/.test(served.logs()) ? true : undefined), 20_000, 'the refused reload');
  const list = (await call('GET', '/v1/agents?limit=1000')).json() as { agents: (Judged & { id: string })[] };
  t.same(Object.fromEntries(list.agents.map((a) => [a.id, { status: a.status, checks: norm(a.checks) }])), third, 'the verdicts stay those of the last good policy');
});
