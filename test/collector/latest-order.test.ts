/**
 * The latest state follows the guest, not the wire: an agent's latest report is its newest by its
 * own seq (and, across a reinstall, by its life and its clock), never by receive time; history is
 * in the guest's collection order; a report without a time probe is placed by the guest's clock
 * corrected with the agent's last measured offset and says so. Then the rule itself, the store's
 * rejudge, and what one failed libvirt read leaves of the snapshot.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { mergeSnapshot, openSqliteStore, replacesLatest, type AuditedDomain } from '@clockwatch/collector';
import { parseDomainXml } from '@clockwatch/shared';
import { readdirSync, readFileSync } from 'node:fs';
import { appWith, makeReport, recordOf, repoRoot } from './helpers.js';

const agentCli = join(repoRoot, 'packages', 'agent', 'dist', 'cli.js');
const kvmRoot = join(repoRoot, 'test', 'fixtures', 'roots', 'kvm-guest');

function runAgent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [agentCli, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port nobody listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('three reports spooled while the collector is down, then one delivered: history [1,2,3,4], latest seq 4 with its offset', async (t) => {
  const dir = t.testdir();
  const spool = join(dir, 'S');
  const dead = `http://127.0.0.1:${await deadPort()}`;
  for (let i = 0; i < 3; i++) {
    const r = await runAgent(['--once', '--root', kvmRoot, '--collector', dead, '--spool', spool, '--id', 'x', '--log-level', 'error']);
    // Exit 1 (not delivered); the report waits in the spool.
    t.equal(r.code, 1, r.stderr.slice(0, 300));
    t.equal(readdirSync(spool).filter((f) => /^\d{12}-.*\.json$/.test(f)).length, i + 1, `report ${i + 1} spooled`);
  }
  const { app, close } = await appWith({ dbPath: join(dir, 'c.db') });
  t.teardown(close);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const live = await runAgent(['--once', '--root', kvmRoot, '--collector', url, '--spool', spool, '--id', 'x', '--log-level', 'error']);
  t.equal(live.code, 0, live.stderr.slice(0, 300));

  const one = (await app.inject({ method: 'GET', url: '/v1/agents/x' })).json();
  t.equal(one.seq, 4, 'the latest state is seq 4');
  t.type(one.measurement.offsetMs, 'number', 'with its offset');
  const list = (await app.inject({ method: 'GET', url: '/v1/agents' })).json();
  t.type(list.agents[0].offsetMs, 'number', 'the fleet row shows the offset of seq 4');
  const hist = (await app.inject({ method: 'GET', url: `/v1/agents/x/history?from=${Date.now() - 3_600_000}&to=${Date.now() + 60_000}` })).json();
  t.same(hist.points.map((p: { seq: number }) => p.seq), [1, 2, 3, 4], 'history in the guest collection order');
  t.same(hist.points.map((p: { placedBy: string }) => p.placedBy), ['last-offset', 'last-offset', 'last-offset', 'probe'], 'each point says how it was placed');
  const at = hist.points.map((p: { atMs: number }) => p.atMs);
  t.ok(at.every((v: number, i: number) => i === 0 || v >= at[i - 1]), 'placed in that order in host time');
});

t.test('the order rule: seq within a life, the guest clock across lives', async (t) => {
  const o = (seq: number, guestEpochMs: number | null, instanceId: string | null = null) => ({ seq, guestEpochMs, instanceId });
  t.ok(replacesLatest(o(5, 1000), o(4, 2000)), 'a higher seq replaces, whatever the clocks say');
  t.notOk(replacesLatest(o(3, 1000), o(4, 2000)), 'a late spooled report (lower seq, collected earlier) does not');
  t.ok(replacesLatest(o(1, 3000), o(40, 2000)), 'a sequence that went back, collected later: a reinstalled agent, a new life');
  t.ok(replacesLatest(o(1, 3000, 'b'), o(40, 2000, 'a')), 'another instanceId collected later: a new life');
  t.notOk(replacesLatest(o(41, 1500, 'a'), o(2, 3000, 'b')), "the old life's report delivered late does not replace the new life's");
  t.ok(replacesLatest(o(4, 2000), o(4, 2000)), 'the same report again');
  t.notOk(replacesLatest(o(3, null), o(4, null)), 'without guest clocks (old rows): seq decides');
});

t.test('store: a reset agent (new instanceId, seq back to 1) becomes the latest; its old spooled reports do not', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const T = Date.UTC(2026, 10, 20, 12);
  const rep = (seq: number, atMs: number, instanceId: string, offsetMs: number) => {
    const r = makeReport({ agentId: 'vm-r', seq, atMs, offsetMs });
    r.agent.instanceId = instanceId;
    return recordOf(r, atMs + 50);
  };
  await store.write([rep(40, T, 'life-a', 1)]);
  await store.write([rep(1, T + 60_000, 'life-b', 2)]);
  let a = (await store.listAgents({ nowMs: T + 61_000, offset: 0, limit: 10 })).rows[0]!;
  t.equal(a.offsetMs, 2, 'the new life is the latest');
  const late = rep(41, T + 30_000, 'life-a', 9);
  await store.write([{ ...late, receivedAtMs: T + 90_000 }]);
  a = (await store.listAgents({ nowMs: T + 91_000, offset: 0, limit: 10 })).rows[0]!;
  t.equal(a.offsetMs, 2, "the old life's late report went to history only");
  t.equal(a.lastSeenMs, T + 90_000, 'but the agent was heard from');
  const h = await store.history('vm-r', { fromMs: T - 1, toMs: T + 100_000, limit: 10 });
  t.same(h.rows.map((r) => r.seq), [40, 41, 1], 'history in the guest clock order');
});

t.test('store: rejudge rewrites the cached verdict columns of every latest state in one pass, and says what changed', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'r.db') });
  t.teardown(() => store.close());
  const T = Date.UTC(2026, 10, 20, 12);
  await store.write(Array.from({ length: 2500 }, (_, i) => recordOf(makeReport({ agentId: `vm-${String(i).padStart(4, '0')}`, atMs: T, offsetMs: 1 }), T + 50)));
  const before = (await store.listAgents({ nowMs: T + 100, offset: 0, limit: 5000 })).rows;
  t.ok(before.every((r) => r.checks.clocksource === 'pass'));
  // A judge that fails clocksource for even agents.
  const r = await store.rejudge((s) => {
    const even = Number(s.agentId.slice(3)) % 2 === 0;
    return { baseStatus: even ? 'noncompliant' : 'compliant', checks: { clocksource: even ? 'fail' : 'pass', offset: 'pass' }, staleAfterMs: 180_000 };
  });
  t.equal(r.agents, 2500, 'every latest state (more than one page)');
  t.equal(r.changed, 2500, 'every row changed a column (rtc, timezone, ntp are gone)');
  t.equal(r.statusChanges['compliant→noncompliant'], 1250, 'half of them changed status');
  const after = (await store.listAgents({ nowMs: T + 100, offset: 0, limit: 5000 })).rows;
  t.same(after[0]!.checks, { clocksource: 'fail', offset: 'pass', reporting: 'pass' }, 'the fleet view shows the new verdict (its cache was invalidated)');
  t.equal(after[0]!.status, 'noncompliant');
  t.equal((await store.summary(T + 100)).byCheck.clocksource?.fail, 1250);
  const again = await store.rejudge((s) => {
    const even = Number(s.agentId.slice(3)) % 2 === 0;
    return { baseStatus: even ? 'noncompliant' : 'compliant', checks: { clocksource: even ? 'fail' : 'pass', offset: 'pass' }, staleAfterMs: 180_000 };
  });
  t.equal(again.changed, 0, 'the same verdicts again: nothing written');
});

t.test('libvirt: a failed read keeps the domains last read, with their age and the error', async (t) => {
  const xml = readFileSync(join(repoRoot, 'test', 'fixtures', 'libvirt', 'linux-localtime.xml'), 'utf8');
  const parsed = parseDomainXml(xml);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const domain = parsed.domain;
  const first = mergeSnapshot([], [{ source: 'a.xml', domain }], [], 1000);
  t.same(first.map((d) => [d.readAtMs, d.readError]), [[1000, null]]);
  const failed = mergeSnapshot(first, [], [{ source: 'virsh -c qemu:///system list', code: 'CW_ERR_COMMAND', message: 'virsh timed out after 15 s' }], 5000);
  t.equal(failed.length, 1, 'one failed read does not empty the snapshot');
  t.same([failed[0]!.readAtMs, failed[0]!.readError], [1000, 'virsh timed out after 15 s'], 'the domain as last read, its read time and the error');
  const back: AuditedDomain[] = mergeSnapshot(failed, [{ source: 'a.xml', domain }], [], 9000);
  t.same(back.map((d) => [d.readAtMs, d.readError]), [[9000, null]], 'a good read refreshes it');
  t.same(mergeSnapshot(back, [], [], 12_000), [], 'a good read without the domain removes it (undefined)');
});
