/**
 * GET /metrics of a real collector (127.0.0.1:0, a SQLite file) sends the page the renderer writes
 * from the store's rows, byte for byte, scrape after scrape while agents report, leave the page
 * unchanged, and change through another connection to the same file (rows the serving connection
 * did not write are picked up). The page is the kept runs' Buffers joined once (metrics-agents.ts,
 * routes/bytes-body.ts): its length header is its byte count.
 */
import t from 'tap';
import { join } from 'node:path';
import { openSqliteStore } from '@clockwatch/collector';
import { renderAgentMetrics } from '../../packages/collector/src/metrics-agents.js';
import { appWith, makeReport, recordOf } from './helpers.js';

/** The per-agent families of a page: from the first agent family to the end of the fleet counts. */
function agentPart(page: string): string {
  const from = page.indexOf('# HELP clockwatch_agent_info ');
  const counts = page.indexOf('# HELP clockwatch_fleet_agents ');
  const end = page.indexOf('\n# HELP ', counts + 1);
  return page.slice(from, end === -1 ? page.length : end + 1);
}

t.test('the served page is the rendered page after every kind of change', async (t) => {
  const dbPath = join(t.testdir(), 'store.db');
  const { app, store, close } = await appWith({ dbPath });
  t.teardown(close);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = async (reports: unknown[]) => {
    const res = await fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reports) });
    t.equal(res.status, 200, `POST ${reports.length} report(s)`);
    await res.arrayBuffer();
  };
  const scrape = async (label: string) => {
    const res = await fetch(`${url}/metrics`);
    const bytes = Buffer.from(await res.arrayBuffer());
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    t.equal(Number(res.headers.get('content-length')), bytes.length, `${label}: length header = bytes sent`);
    const page = bytes.toString('utf8');
    const rows = (await store.listAgents({ nowMs: Date.now(), offset: 0, limit: 100_000 })).rows;
    t.equal(agentPart(page), renderAgentMetrics(rows), `${label}: the agents' families = a fresh render of the store's rows`);
    return page;
  };
  const n = 300;
  const now = Date.now();
  const ids = Array.from({ length: n }, (_, k) => `agent-${String(k).padStart(3, '0')}`);
  await post(ids.map((agentId, k) => makeReport({ agentId, hostname: `h-${k}`, atMs: now - 1000, offsetMs: k / 10, labels: { rack: `r${k % 7}` } })));
  const first = await scrape('first scrape');
  t.match(first, /clockwatch_agent_offset_seconds\{agent="agent-299"\} 0\.029[89]\d*\n/, 'an offset of ~29.9 ms');
  t.equal(agentPart(await scrape('nothing changed')), agentPart(first), 'unchanged fleet, unchanged page');

  // A quarter report again with new numbers; some with a new hostname, labels, a failing clocksource.
  await post(
    ids
      .filter((_, k) => k % 4 === 1)
      .map((agentId, k) => makeReport({ agentId, hostname: k % 3 ? `h-${k}` : `renamed-${k}`, atMs: now, offsetMs: -k, labels: k % 2 ? { rack: 'moved' } : {}, ...(k % 5 === 0 ? { clocksource: 'tsc' } : {}) })),
  );
  t.not(agentPart(await scrape('a quarter reported')), agentPart(first), 'the page changed');

  // Another connection to the same file (a second collector on a shared store): new reports for
  // some agents and one agent the serving collector never saw.
  const other = openSqliteStore({ path: dbPath });
  await other.write([
    recordOf(makeReport({ agentId: 'agent-007', hostname: 'from-elsewhere', atMs: now + 500, offsetMs: 123.25 }), now + 600),
    recordOf(makeReport({ agentId: 'agent-150', hostname: 'from-elsewhere-too', atMs: now + 500, offsetMs: -7.5, clocksource: 'tsc' }), now + 600),
    recordOf(makeReport({ agentId: 'agent-0500', hostname: 'newcomer', atMs: now + 500 }), now + 600),
  ]);
  await other.close();
  const shared = await scrape('rows written by another connection');
  t.match(shared, /clockwatch_agent_offset_seconds\{agent="agent-007"\} 0\.123\d*\n/, "the other connection's offset");
  t.match(shared, /clockwatch_agent_info\{agent="agent-0500",hostname="newcomer"/, "the other connection's new agent");
  t.match(shared, /clockwatch_agent_clocksource_info\{agent="agent-150",clocksource="tsc"\} 1\n/);
  t.equal(agentPart(await scrape('once more')), agentPart(shared));
});
