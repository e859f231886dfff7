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
