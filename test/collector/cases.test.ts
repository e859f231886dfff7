/**
 * Every verdict case of test/fixtures/cases through the collector: ingested at the case's
 * receivedAtMs (injected clock), with the case's host NTP state and policy, then queried at the
 * case's nowMs. The stored verdict plus the query-time reporting check must give exactly the
 * expected verdict (stale-agent becomes stale only at query time), in the ingest answer, the
 * agent view and the fleet row.
 */
import t from 'tap';
import { fixedClock, staticHostClock } from '@clockwatch/collector';
import { appWith, caseNames, HOST_SYNCED, HOST_UNSYNCED, loadCase } from './helpers.js';

for (const name of caseNames()) {
  // A case whose verdict waits for a check text (expected.json "todo") runs as a tap todo.
  const todo = loadCase(name).expected.todo;
  t.test(name, todo ? { todo } : {}, async (t) => {
    const c = loadCase(name);
    const clock = fixedClock(c.context.receivedAtMs);
    const host = c.context.hostSynchronized === null ? null : c.context.hostSynchronized ? HOST_SYNCED : HOST_UNSYNCED;
    const { app, close } = await appWith({ clock, hostClock: staticHostClock(host), policy: c.policy ?? undefined });
    t.teardown(close);

    const res = await app.inject({ method: 'POST', url: '/v1/reports', payload: c.report });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    const result = res.json().results[0];
    for (const [k, want] of Object.entries(c.expected.measurement ?? {})) {
      t.ok(Math.abs(result[k] - want) < 0.002, `${k} ${result[k]} ≈ ${want}`);
    }

    clock.set(c.context.nowMs);
    const one = await app.inject({ method: 'GET', url: `/v1/agents/${encodeURIComponent(c.report.agent.id)}` });
    t.equal(one.statusCode, 200);
    const verdict = one.json().verdict as { status: string; checks: { id: string; status: string; reason: string }[] };
    t.equal(verdict.status, c.expected.status, 'status at nowMs');
    t.same(verdict.checks.map((x) => x.id).sort(), Object.keys(c.expected.checks).sort(), 'the same checks');
    for (const [id, want] of Object.entries(c.expected.checks)) {
      const got = verdict.checks.find((x) => x.id === id);
      t.equal(got?.status, want.status, `${id}: ${got?.reason}`);
      for (const phrase of want.reasonIncludes ?? []) t.ok(got?.reason.includes(phrase), `${id} reason names '${phrase}': ${got?.reason}`);
    }
    const row = (await app.inject({ method: 'GET', url: '/v1/agents' })).json().agents[0];
    t.equal(row.status, c.expected.status, 'fleet row status');
    t.same(row.checks, Object.fromEntries(Object.entries(c.expected.checks).map(([id, v]) => [id, v.status])), 'fleet row checks');
  });
}
