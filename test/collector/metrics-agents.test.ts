/**
 * The per-agent families of /metrics (metrics-agents.ts) are byte for byte what they were before
 * the renderer kept lines between scrapes: a fixed fleet against the text the earlier renderer
 * wrote for it (test/fixtures/metrics/agents-fleet.prom), on a first scrape, a scrape of the same
 * rows, and after rows changed part by part (each scrape equal to a fresh render of its rows).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentSummary } from '@clockwatch/collector';
import { AgentMetricsRenderer, renderAgentMetrics } from '../../packages/collector/src/metrics-agents.js';
import { parsePrometheus, repoRoot } from './helpers.js';
import { fixedFleet } from './metrics-fleet.js';

const golden = readFileSync(join(repoRoot, 'test/fixtures/metrics/agents-fleet.prom'), 'utf8');

t.test('a fixed fleet renders as the earlier renderer did', async (t) => {
  t.equal(renderAgentMetrics(fixedFleet()), golden, 'fresh render = the fixture');
  const r = new AgentMetricsRenderer();
  t.equal(r.render(fixedFleet()), golden, 'first scrape');
  t.equal(r.render(fixedFleet()), golden, 'the same rows again (new objects, same content)');
  const same = fixedFleet();
  t.equal(r.render(same), golden);
  t.equal(r.render(same), golden, 'the very same row objects');
  // The fixture parses as the text format: every line a sample or a HELP/TYPE comment.
  const samples = parsePrometheus(golden);
  t.ok(samples.length > 900, `${samples.length} samples`);
  t.equal(renderAgentMetrics([]).split('\n').filter((l) => l.startsWith('clockwatch_fleet_agents{')).length, 5, 'an empty fleet still counts every status');
});

t.test('kept lines follow every change of a row', async (t) => {
  const r = new AgentMetricsRenderer();
  let rows = fixedFleet();
  r.render(rows);
  const edits: [string, (a: AgentSummary, k: number) => AgentSummary][] = [
    ['numbers', (a, k) => ({ ...a, lastSeenMs: a.lastSeenMs + 60_000, atMs: a.atMs + 60_000 + k, offsetMs: a.offsetMs === null ? 1.5 : null })],
    ['uncertainty and rtc', (a) => ({ ...a, uncertaintyMs: a.uncertaintyMs === null ? 0.25 : a.uncertaintyMs * 2, rtcOffsetS: a.rtcOffsetS === null ? 3 : null })],
    ['ntp and interval', (a) => ({ ...a, ntpSynchronized: a.ntpSynchronized === null ? true : a.ntpSynchronized ? false : null, intervalS: a.intervalS + 1 })],
    ['status', (a, k) => ({ ...a, status: k % 2 ? 'stale' : 'compliant' })],
    ['checks', (a) => ({ ...a, checks: { ...a.checks, reporting: a.checks.reporting === 'fail' ? 'pass' : 'fail' } })],
    ['a check removed', (a) => {
      const { offset: _drop, ...rest } = a.checks;
      return { ...a, checks: rest };
    }],
    ['labels', (a, k) => ({ ...a, labels: k % 3 ? { ...a.labels, site: 'berlin' } : {} })],
    ['label value', (a) => ({ ...a, labels: Object.fromEntries(Object.entries(a.labels).map(([key, v]) => [key, `${v}!`])) })],
    ['hostname and uuid', (a, k) => ({ ...a, hostname: `renamed-${k}`, systemUuid: k % 2 ? null : 'u-1' })],
    ['collector', (a, k) => ({ ...a, collector: k % 3 === 0 ? null : `c-${k % 2}` })],
    ['clocksource and zone', (a) => ({ ...a, clocksource: a.clocksource === 'tsc' ? null : 'tsc', timezone: a.timezone === null ? 'Europe/Berlin' : null })],
  ];
  for (const [label, edit] of edits) {
    // Every other agent changes; the rest keep their row objects.
    rows = rows.map((a, k) => (k % 2 === 0 ? edit(a, k) : a));
    t.equal(r.render(rows), renderAgentMetrics(rows), `${label}: kept lines = a fresh render`);
  }
  // Agents leave and come back, in another order.
  const fewer = rows.filter((_, k) => k % 5 !== 0).reverse();
  t.equal(r.render(fewer), renderAgentMetrics(fewer), 'agents gone, order changed');
  t.equal(r.render(rows), renderAgentMetrics(rows), 'agents back');
  t.not(r.render(rows), golden, 'the edits changed the text');
});

t.test('a large fleet: the kept runs follow changes of every kind, agents coming and going', async (t) => {
  // 2,000 agents: ~60 runs of agents kept encoded (metrics-agents.ts, Run), so that changes land
  // in some runs and not in others, and agents come and go in the middle of the page.
  const r = new AgentMetricsRenderer();
  let rows = fixedFleet(2000);
  t.equal(r.render(rows), renderAgentMetrics(rows), 'first scrape');
  const before = r.renderBuffers(rows);
  // One agent's offset moves: only the buffer of its run in the offset family is new.
  const k = 1234;
  rows = rows.map((a, i) => (i === k ? { ...a, offsetMs: 99.5 } : a));
  const after = r.renderBuffers(rows);
  t.equal(after.length, before.length, 'as many pieces');
  t.equal(after.filter((b, i) => b !== before[i]).length, 2, 'one run re-encoded (and the fleet counts)');
  t.equal(Buffer.concat(after).toString(), renderAgentMetrics(rows), 'and the page is a fresh render');
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const edits: ((a: AgentSummary, k: number) => AgentSummary)[] = [
    (a, k) => ({ ...a, lastSeenMs: a.lastSeenMs + 15_000, atMs: a.atMs + 15_000 + k, offsetMs: a.offsetMs === null ? 0.5 : a.offsetMs + 0.001 }),
    (a) => ({ ...a, uncertaintyMs: a.uncertaintyMs === null ? 0.25 : null, rtcOffsetS: a.rtcOffsetS === null ? 2 : null, ntpSynchronized: !a.ntpSynchronized, intervalS: a.intervalS === 60 ? 30 : 60 }),
    (a, k) => ({ ...a, status: k % 2 ? 'stale' : 'noncompliant', checks: { ...a.checks, reporting: a.checks.reporting === 'fail' ? 'pass' : 'fail' } }),
    (a, k) => ({ ...a, labels: k % 3 ? { ...a.labels, site: 'é' } : {}, hostname: `renamed-${k}`, collector: k % 2 ? null : 'c-x' }),
    (a) => ({ ...a, clocksource: a.clocksource === 'tsc' ? null : 'tsc', timezone: a.timezone === null ? 'Europe/Berlin' : null, systemUuid: null }),
  ];
  for (let round = 0; round < 25; round++) {
    const edit = edits[round % edits.length] as (a: AgentSummary, k: number) => AgentSummary;
    // A quarter of the agents change (as between two scrapes of agents reporting every minute).
    rows = rows.map((a, i) => (rand() < 0.25 ? edit(a, i) : a));
    if (round % 4 === 1) rows = rows.filter(() => rand() > 0.01); // a few leave, from anywhere
    if (round % 4 === 2) rows.splice(Math.floor(rand() * rows.length), 0, { ...(rows[0] as AgentSummary), id: `new-${round}` }); // one arrives in the middle
    if (round % 4 === 3) rows = [...rows.slice(0, 500), rows[500] as AgentSummary, ...rows.slice(500)]; // the same row twice
    if (round % 5 === 4) {
      // As many agents as before in each run: one replaced by a newcomer in place, two neighbours swapped.
      rows = rows.slice();
      rows[1500] = { ...(rows[1500] as AgentSummary), id: `replaced-${round}` };
      [rows[1001], rows[1002]] = [rows[1002] as AgentSummary, rows[1001] as AgentSummary];
    }
    t.equal(r.render(rows), renderAgentMetrics(rows), `round ${round}: kept runs = a fresh render`);
  }
  t.equal(r.render(rows.slice().reverse()), renderAgentMetrics(rows.slice().reverse()), 'every agent in another order');
  t.equal(r.render([]), renderAgentMetrics([]), 'no agents');
});
