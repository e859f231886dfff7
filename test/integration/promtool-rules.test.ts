/**
 * The Prometheus rules in deploy/prometheus: `promtool check rules` accepts them, `promtool test
 * rules` passes their unit tests, every alert has a `for:` window, a severity and a runbook_url,
 * and every rule is unit-tested — each alert both firing and not firing, the recording rule by an
 * expression test.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../collector/helpers.js';
import { promtool, promtoolSkip } from './live-fleet.js';

const dir = join(repoRoot, 'deploy', 'prometheus');
const rulesFile = join(dir, 'clockwatch-rules.yml');
const testFiles = readdirSync(join(dir, 'tests'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join(dir, 'tests', f));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface TestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[]; promql_expr_test?: { expr: string }[] }[];
}

const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

t.test('promtool check rules', { skip: promtoolSkip }, async (t) => {
  const r = promtool(['check', 'rules', rulesFile]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  t.notMatch(r.stdout + r.stderr, /WARNING|FAILED/);
});

t.test('promtool test rules', { skip: promtoolSkip }, async (t) => {
  t.ok(testFiles.length > 0, 'there are unit test files');
  const r = promtool(['test', 'rules', ...testFiles]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.notMatch(r.stdout + r.stderr, /FAILED/);
  t.equal((r.stdout.match(/SUCCESS/g) ?? []).length, testFiles.length, 'each file succeeds');
});

t.test('every alert has for, severity, summary, description and a runbook_url', async (t) => {
  const alerts = rules.filter((r) => r.alert);
  t.ok(alerts.length >= 8);
  for (const a of alerts) {
    t.match(a.for, /^\d+[smh]$/, `${a.alert}: for`);
    t.match(a.labels?.severity, /^(critical|warning|info)$/, `${a.alert}: severity`);
    t.ok(a.annotations?.summary && a.annotations.description, `${a.alert}: summary and description`);
    t.match(a.annotations?.runbook_url, /^http:\/\/\{\{ \$labels\.instance \}\}\/docs\/checks\/(\{\{ \$labels\.check \}\}|[a-z-]+)(#[a-z-]+)?$/, `${a.alert}: runbook_url on the collector`);
  }
  for (const [name, wants] of [
    ['ClockwatchGuestClockSkew', /abs\(clockwatch_agent_offset_seconds\) - clockwatch_agent_offset_uncertainty_seconds/],
    ['ClockwatchGuestCheckFailing', /clockwatch_agent_check_status\{status="fail"/],
    ['ClockwatchAgentStale', /status="stale"/],
    ['ClockwatchCollectorHostNotSynchronised', /clockwatch_host_ntp_synchronized == 0/],
    ['ClockwatchIngestFailing', /result=~"5\.\."/],
    ['ClockwatchIngestRefusing', /clockwatch_ingest_rejected_total/],
  ] as const) {
    t.match(rules.find((r) => r.alert === name)?.expr, wants, `${name} is there and says what it means`);
  }
});

t.test('every rule is unit-tested, each alert firing and not firing', async (t) => {
  const tests = testFiles.flatMap((f) => (parse(readFileSync(f, 'utf8')) as TestFile).tests);
  const alertTests = tests.flatMap((x) => x.alert_rule_test ?? []);
  const exprTests = tests.flatMap((x) => x.promql_expr_test ?? []);
  for (const r of rules) {
    if (r.alert) {
      const mine = alertTests.filter((x) => x.alertname === r.alert);
      t.ok(mine.some((x) => x.exp_alerts.length > 0), `${r.alert}: a case where it fires`);
      t.ok(mine.some((x) => x.exp_alerts.length === 0), `${r.alert}: a case where it does not fire`);
    } else {
      t.ok(exprTests.some((x) => x.expr.includes(r.record as string)), `${r.record}: an expression test`);
    }
  }
});
