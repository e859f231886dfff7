/**
 * deploy/grafana/clockwatch.json: valid JSON with a dashboard's shape (uid, title, panels with
 * targets, templating with the hostname and label variables), every PromQL expression parses
 * (promtool check rules on the expressions with the variables filled in), and every metric an
 * expression names is one a live collector exposes after real reports (histogram _bucket, _sum and
 * _count expanded).
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../collector/helpers.js';
import { exposedNames, liveFleet, promtool, promtoolSkip } from './live-fleet.js';

interface Target {
  expr?: string;
  refId?: string;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { x: number; y: number; w: number; h: number };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const file = join(repoRoot, 'deploy', 'grafana', 'clockwatch.json');
const dashboard = JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const exprs = panels.flatMap((p) => (p.targets ?? []).map((x) => ({ panel: p.title ?? String(p.id), expr: x.expr ?? '' })));
const variables = dashboard.templating.list;
const queryOf = (v: Variable) => (typeof v.query === 'string' ? v.query : (v.query?.query ?? ''));

/** Values the variables take when the expressions are checked (what "All" gives). */
const FILL: Record<string, string> = { instance: '.*', hostname: '.*', label_name: 'label_site', label_value: '.*', __rate_interval: '5m', __interval: '1m', __range: '6h', datasource: '' };
const fill = (expr: string) => expr.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => FILL[name] ?? `UNFILLED_${name}`);

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);

/**
 * The metric names a PromQL expression selects: identifiers outside strings, label matchers
 * `{...}`, ranges `[...]` and grouping clauses `by (...)`, that are not a function call, an
 * aggregation, a keyword or a number.
 */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  s = s.replace(/(^|[^\w.:])\d+(\.\d+)?([eE][-+]?\d+)?/g, '$1 ');
  const out = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const after = s.slice((m.index ?? 0) + name.length);
    if (/^\s*\(/.test(after)) continue; // a function call or an aggregation with its argument
    if (KEYWORDS.has(name.toLowerCase()) || AGGREGATIONS.has(name)) continue;
    out.add(name);
  }
  return [...out];
}

t.test('metricNames parses what the dashboard uses', async (t) => {
  t.same(metricNames('sum by (le, instance) (rate(x_bucket{a="b{c}"}[$__rate_interval]))'), ['x_bucket']);
  t.same(metricNames('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))'), ['h_bucket']);
  t.same(metricNames('(a * on(instance, agent) group_left(hostname) b{hostname=~"$hostname"}) and on(instance, agent) c{$label_name=~"$v"}'), ['a', 'b', 'c']);
  t.same(metricNames('deriv(o[1h]) * 1e6 > bool 0.5'), ['o']);
  t.same(metricNames('count(x == 1) / ignoring(code) sum without (code) (y)'), ['x', 'y']);
  t.same(metricNames('label_values(m{instance=~"$instance"}, hostname)'.replace(/^label_values\((.*),[^,]*\)$/, '$1')), ['m']);
});

t.test('the dashboard has the shape Grafana imports', async (t) => {
  t.match(dashboard, { uid: /^[\w-]{1,40}$/, title: /clockwatch/, schemaVersion: Number });
  t.ok(panels.length >= 12, `${panels.length} panels`);
  const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of panels) {
    t.ok(p.title && p.gridPos && p.targets && p.targets.length > 0, `${p.title}: title, position, targets`);
    for (const x of p.targets ?? []) t.ok(x.expr && x.refId, `${p.title} ${x.refId}: an expression`);
  }
  const names = variables.map((v) => v.name);
  for (const v of ['datasource', 'instance', 'hostname', 'label_name', 'label_value']) t.ok(names.includes(v), `variable ${v}`);
  t.match(queryOf(variables.find((v) => v.name === 'hostname') as Variable), /label_values\(clockwatch_agent_info\b.*, hostname\)/);
  t.match(queryOf(variables.find((v) => v.name === 'label_value') as Variable), /label_values\(clockwatch_agent_labels\b.*, \$label_name\)/);
  // Every variable a panel uses is defined (or is one of Grafana's own).
  for (const { panel, expr } of exprs) {
    for (const [, v] of expr.matchAll(/\$\{?(\w+)\}?/g)) t.ok(names.includes(v as string) || (v as string).startsWith('__'), `${panel}: $${v} is defined`);
  }
  const titles = panels.map((p) => p.title ?? '').join('\n');
  for (const want of [/status/i, /offset ± uncertainty/i, /RTC/, /drift/i, /NTP/, /reports\/s/i, /ingest latency/i]) t.match(titles, want);
});

t.test('every expression parses (promtool check rules)', { skip: promtoolSkip }, async (t) => {
  const dir = t.testdir();
  const rules = exprs.map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(fill(e.expr))}`).join('\n');
  const path = join(dir, 'dashboard-exprs.yml');
  writeFileSync(path, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
  const r = promtool(['check', 'rules', path]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, `SUCCESS: ${exprs.length} rules found`);
  t.notMatch(JSON.stringify(exprs.map((e) => fill(e.expr))), /UNFILLED_/, 'every variable filled');
});

t.test('every metric the dashboard names is exposed by a live collector', { skip: promtoolSkip ? 'needs the live fleet of the promtool tests' : false }, async (t) => {
  const fleet = await liveFleet(t.testdir());
  t.teardown(() => fleet.served.stop());
  const exposed = exposedNames(await fleet.metrics());
  t.ok(exposed.has('clockwatch_ingest_request_duration_seconds_bucket'), 'histogram buckets expanded');
  const used = new Set<string>();
  for (const { panel, expr } of exprs) {
    const names = metricNames(expr);
    t.ok(names.length > 0, `${panel}: names a metric`);
    for (const n of names) {
      used.add(n);
      t.ok(exposed.has(n), `${panel}: ${n} is exposed`);
    }
  }
  for (const v of variables) {
    const q = queryOf(v);
    const m = /^label_values\((.*),\s*[$\w]+\)$/.exec(q);
    if (!m) continue;
    for (const n of metricNames(m[1] as string)) t.ok(exposed.has(n), `variable ${v.name}: ${n} is exposed`);
  }
  for (const n of ['clockwatch_agent_offset_seconds', 'clockwatch_agent_offset_uncertainty_seconds', 'clockwatch_agent_rtc_offset_seconds', 'clockwatch_agent_status', 'clockwatch_agent_ntp_synchronized', 'clockwatch_ingest_reports_total']) {
    t.ok(used.has(n), `the dashboard shows ${n}`);
  }
});
