/**
 * A fixed fleet of latest-state rows for the per-agent metrics (test/collector/metrics-agents.test.ts):
 * every status, absent values, escapes in label values, label keys that collide as Prometheus
 * names, agents of several collectors. Deterministic: the same rows on every call.
 */
import type { AgentSummary } from '@clockwatch/collector';

const STATUSES = ['compliant', 'warning', 'noncompliant', 'stale', 'unknown'] as const;
const CHECK_STATES = ['pass', 'warn', 'fail', 'unknown'] as const;

export function fixedFleet(n = 60): AgentSummary[] {
  const rows: AgentSummary[] = [];
  for (let k = 0; k < n; k++) {
    const labels: Record<string, string> = {};
    if (k % 3 === 0) labels.env = k % 2 ? 'prod' : 'stage';
    if (k % 5 === 0) labels['Team-Name'] = 'db "core"\\ops';
    if (k % 10 === 0) labels.team_name = 'collides with Team-Name';
    if (k % 7 === 0) labels.note = 'line one\nline two';
    const checks: Record<string, (typeof CHECK_STATES)[number]> = {};
    for (const [i, id] of ['clocksource', 'offset', 'rtc', 'timezone', 'ntp', 'libvirt_clock', 'reporting'].entries()) {
      if ((k + i) % 11 === 0) continue;
      checks[id] = CHECK_STATES[(k * 3 + i) % CHECK_STATES.length] as (typeof CHECK_STATES)[number];
    }
    rows.push({
      id: k % 13 === 0 ? `vm-"${k}"\\x` : `vm-${String(k).padStart(3, '0')}`,
      hostname: k % 17 === 0 ? `host\n${k}` : `host-${k}.example.net`,
      ...(k % 4 === 0 ? { collector: k % 8 === 0 ? 'col-a' : 'col-"b"' } : {}),
      status: STATUSES[k % STATUSES.length] as (typeof STATUSES)[number],
      lastSeenMs: 1_796_122_740_000 + k * 1013,
      atMs: 1_796_122_739_000 + k * 977,
      offsetMs: k % 6 === 5 ? null : (k - 30) * 12.345678,
      uncertaintyMs: k % 6 === 5 ? null : 0.4 + k / 1000,
      rtcOffsetS: k % 9 === 4 ? null : k % 2 ? -0.25 : 28_800.5,
      clocksource: k % 8 === 3 ? null : k % 2 ? 'kvm-clock' : 'tsc',
      timezone: k % 10 === 9 ? null : k % 3 ? 'Etc/UTC' : 'Asia/Shanghai',
      ntpSynchronized: k % 3 === 0 ? null : k % 3 === 1,
      systemUuid: k % 5 === 4 ? null : `${String(k).padStart(8, '0')}-8f4d-4c1a-9e2b-000000000000`,
      labels,
      intervalS: k % 4 === 1 ? 30 : 60,
      checks,
    });
  }
  return rows;
}
