import t from 'tap';
import { Agent, loadConfig, silentLogger, startListener } from '@clockwatch/agent';
import { validateReport } from '@clockwatch/shared';
import { fixtureRoot } from './helpers/paths.js';
import { replay } from './helpers/runners.js';
import { startTestCollector } from './helpers/test-collector.js';
import { tmpdir } from './helpers/tmp.js';

function config(args: string[]) {
  const r = loadConfig({ argv: args, env: {}, readFile: () => '' });
  if (r.kind !== 'config') throw new Error('no config');
  return r.config;
}

t.test('--once in process: collected, spooled, exchanged, pushed, acknowledged', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const rec = replay('chrony-synced');
  const agent = await Agent.create({
    config: config(['--once', '--collector', c.url, '--root', fixtureRoot('kvm-guest'), '--spool', t.testdir(), '--label', 'site=lab', '--samples', '4']),
    run: rec.run,
    log: silentLogger,
  });
  t.teardown(() => agent.close());
  const res = await agent.once();
  t.equal(res.exitCode, 0);
  t.match(res.output, { accepted: true, stored: true, agentId: '4f0b2a6a9c1e4d7b8e2f5a3c6d9e1b07' });
  t.equal(c.stored.length, 1);
  const r = c.stored[0]!;
  t.ok(validateReport(r).ok, 'schema v1');
  t.match(r, {
    seq: 1,
    agent: { id: '4f0b2a6a9c1e4d7b8e2f5a3c6d9e1b07', idSource: 'machine-id', systemUuid: '8d2f7c1e-5b3a-4f6e-9c0d-1a2b3c4d5e6f', labels: { site: 'lab' }, spool: { pending: 0, dropped: 0, rejected: 0 } },
    clocksource: { current: 'kvm-clock' },
    ntp: { daemon: 'chronyd', synchronized: true, server: '127.0.0.1' },
  });
  t.equal('samples' in r.timeProbe && r.timeProbe.samples.length, 4);
  // The first cycle also asks chronyc for the configured name of the address in use (kept afterwards).
  t.same(rec.calls, ['chronyc -c -m tracking sources', 'chronyc -c sourcename 127.0.0.1'], 'one chronyc for the state, one for the server name');
  t.equal(agent.spoolCounts()?.pending, 0);
});

t.test('loop cycles: at most two processes each, static facts read once', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const rec = replay('timesyncd-synced');
  const agent = await Agent.create({
    config: config(['--collector', c.url, '--root', fixtureRoot('rtc-localtime'), '--spool', t.testdir(), '--samples', '2']),
    run: rec.run,
    log: silentLogger,
  });
  t.teardown(() => agent.close());
  for (let i = 0; i < 3; i++) await agent.cycle(Date.now() + 10_000);
  t.same(agent.cycles.map((s) => s.spawns), [2, 2, 2]);
  t.same(c.stored.map((r) => r.seq), [1, 2, 3]);
  t.ok(agent.cycles.every((s) => s.delivery?.status === 'done'));
});

t.test('no machine-id and no SMBIOS UUID: an id generated once and kept in the spool', async (t) => {
  const spool = tmpdir(t);
  const root = t.testdir({ etc: { hostname: 'x\n' } });
  const make = () => Agent.create({ config: config(['--once', '--root', root, '--spool', spool]), run: replay('none').run, log: silentLogger });
  const a = await make();
  const b = await make();
  t.match(a.agentId, /^[0-9a-f-]{36}$/);
  t.equal(b.agentId, a.agentId);
  const withId = await Agent.create({ config: config(['--once', '--id', 'web-01.example', '--root', fixtureRoot('kvm-guest'), '--spool', tmpdir(t)]), run: replay('none').run, log: silentLogger });
  t.equal(withId.agentId, 'web-01.example', '--id wins');
});

t.test('--listen: GET /v1/report and /metrics', async (t) => {
  const agent = await Agent.create({ config: config(['--root', fixtureRoot('kvm-guest'), '--spool', t.testdir()]), run: replay('chrony-synced').run, log: silentLogger });
  let collections = 0;
  const l = await startListener({
    host: '127.0.0.1',
    port: 0,
    collect: () => {
      collections++;
      return agent.buildReport({ probe: false, consumeEvents: false });
    },
    counters: () => ({ stepsTotal: agent.stepsTotal(), spawnsTotal: agent.spawnCount() }),
  });
  t.teardown(() => l.close());
  const base = `http://127.0.0.1:${l.address.port}`;
  const rep = await fetch(`${base}/v1/report`);
  t.equal(rep.status, 200);
  const body = await rep.json();
  t.ok(validateReport(body).ok, 'a valid report');
  t.match(body, { clocksource: { current: 'kvm-clock' }, timeProbe: { error: { code: 'CW_ERR_PROBE_SKIPPED' } } });
  const met = await fetch(`${base}/metrics`);
  t.match(met.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await met.text();
  t.match(text, /^clockwatch_clocksource_info\{current="kvm-clock"\} 1$/m);
  t.match(text, /^clockwatch_section_error\{section="timeProbe",code="CW_ERR_PROBE_SKIPPED"\} 1$/m);
  t.match(text, /^clockwatch_ntp_synchronized\{daemon="chronyd"\} 1$/m);
  t.match(text, /^clockwatch_rtc_mode_local\{source="\/etc\/adjtime"\} 0$/m);
  t.match(text, /^clockwatch_timezone_offset_seconds\{name="Europe\/Berlin",source="\/etc\/localtime symlink"\} (3600|7200)$/m);
  t.equal(collections, 1, 'the scrape within a second reused the report');
  const nf = await fetch(`${base}/nope`);
  t.equal(nf.status, 404);
  t.match(await nf.json(), { statusCode: 404, code: 'CW_ERR_ROUTE_NOT_FOUND' });
});
