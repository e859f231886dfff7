/**
 * The alert rules against the series a live collector really exposes (not hand-written ones): the
 * clockwatch_* samples of a live /metrics, after reports from agents in different states, become
 * promtool input series held for 80 minutes, and the alerts that fire are exactly those the
 * exposed values call for — every failing check of every agent, the skewed guest, the collector
 * host's own NTP state — with the hostname joined from clockwatch_agent_info.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parsePrometheus, repoRoot } from '../collector/helpers.js';
import { liveFleet, promtool, promtoolSkip } from './live-fleet.js';

const JOB = { job: 'clockwatch', instance: 'c1:7070' };

const series = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;

t.test('the rules fire on a live collector exactly as its values say', { skip: promtoolSkip }, async (t) => {
  const dir = t.testdir();
  const fleet = await liveFleet(dir);
  t.teardown(() => fleet.served.stop());
  const samples = parsePrometheus(await fleet.metrics()).filter((s) => s.name.startsWith('clockwatch_') && Number.isFinite(s.value));
  const get = (name: string) => samples.filter((s) => s.name === name);
  const hostname = new Map(get('clockwatch_agent_info').map((s) => [s.labels.agent, s.labels.hostname as string]));

  // What the exposed values call for, alert by alert (labels as the rules produce them).
  const want: Record<string, string>[] = [];
  const alert = (alertname: string, severity: string, labels: Record<string, string>) => want.push({ alertname, alertstate: 'firing', severity, ...JOB, ...labels });
  for (const s of get('clockwatch_agent_check_status')) {
    const agent = s.labels.agent as string;
    if (s.labels.status === 'fail' && s.labels.check !== 'reporting') alert('ClockwatchGuestCheckFailing', 'warning', { agent, check: s.labels.check as string, status: 'fail', hostname: hostname.get(agent) as string });
    if (s.labels.status === 'unknown') alert('ClockwatchGuestCheckUnknown', 'info', { agent, check: s.labels.check as string, status: 'unknown', hostname: hostname.get(agent) as string });
  }
  const unc = new Map(get('clockwatch_agent_offset_uncertainty_seconds').map((s) => [s.labels.agent, s.value]));
  for (const s of get('clockwatch_agent_offset_seconds')) {
    const agent = s.labels.agent as string;
    const least = Math.abs(s.value) - (unc.get(agent) ?? Infinity);
    if (least > 0.1) alert('ClockwatchGuestClockSkew', 'warning', { agent, hostname: hostname.get(agent) as string });
    if (least > 1) alert('ClockwatchGuestClockSkewCritical', 'critical', { agent, hostname: hostname.get(agent) as string });
  }
  for (const s of get('clockwatch_agent_status')) {
    if (s.labels.status === 'stale') alert('ClockwatchAgentStale', 'warning', { agent: s.labels.agent as string, status: 'stale', hostname: hostname.get(s.labels.agent) as string });
  }
  for (const s of get('clockwatch_host_ntp_synchronized')) if (s.value === 0) alert('ClockwatchCollectorHostNotSynchronised', 'critical', { daemon: s.labels.daemon as string });
  for (const s of get('clockwatch_host_ntp_info')) if (s.labels.daemon === 'unknown') alert('ClockwatchCollectorHostNtpUnknown', 'warning', { daemon: 'unknown', ...(s.labels.server ? { server: s.labels.server } : {}) });
  // Counters held constant: no rate, so the ingest alerts stay silent.

  const names = new Set(want.map((w) => w.alertname));
  for (const n of ['ClockwatchGuestCheckFailing', 'ClockwatchGuestCheckUnknown', 'ClockwatchGuestClockSkew', 'ClockwatchGuestClockSkewCritical']) t.ok(names.has(n), `the live fleet calls for ${n}`);

  const test = {
    rule_files: [join(repoRoot, 'deploy', 'prometheus', 'clockwatch-rules.yml')],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: samples.map((s) => ({ series: series(s.name, { ...s.labels, ...JOB }), values: `${s.value}x80` })),
        promql_expr_test: [
          {
            expr: 'ALERTS{alertstate="firing"}',
            eval_time: '70m',
            exp_samples: want.map((w) => ({ labels: series('ALERTS', w), value: 1 })),
          },
        ],
      },
    ],
  };
  const file = join(dir, 'live.test.yml');
  writeFileSync(file, stringify(test));
  const r = promtool(['test', 'rules', file]);
  t.equal(r.code, 0, `${want.length} alerts expected\n${r.stdout}${r.stderr}`);
  t.notMatch(r.stdout + r.stderr, /FAILED/);
});
