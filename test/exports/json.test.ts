/** JSON export: the shape the API clients and auditors read, exact numbers, series as columns, one agent per line. */
import t from 'tap';
import { EXPORT_JSON_FORMAT, buildExportData, checkExportData, renderJson, summarizeRows } from '@clockwatch/collector/exports';
import { DAY_FROM, DAY_TO, dayOfData } from './data.js';

t.test('shape and values', async (t) => {
  const data = dayOfData();
  t.same(checkExportData(data), [], 'the test data is valid');
  const text = renderJson(data);
  t.ok(text.endsWith('}\n'));
  const j = JSON.parse(text);
  t.same(Object.keys(j), ['format', 'version', 'period', 'generatedAtMs', 'generatedAt', 'limits', 'summary', 'notes', 'rows']);
  t.equal(j.format, EXPORT_JSON_FORMAT);
  t.equal(j.version, 2);
  t.equal(text.split('\n').filter((l) => l.startsWith('{"id":')).length, data.rows.length, 'one agent per line');
  t.match(j.notes.compliantShare, /reports, not time/);
  t.same(j.period, { fromMs: DAY_FROM, toMs: DAY_TO, from: '2026-11-24T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' });
  t.same(j.limits, { warnMs: 100, failMs: 1000 });
  t.same(j.summary, { agents: 5, byStatus: { compliant: 2, warning: 1, noncompliant: 1, stale: 1, unknown: 0 } });
  t.same(j.rows.map((r: { id: string }) => r.id), ['db-alma9', 'old-build', 'evil-1', 'dc01', 'b1e0c7a2f3d94c58a6e2d1f0c9b8a7e6'], 'by status, then hostname');
  t.same(j.rows.map((r: { status: string }) => r.status), ['noncompliant', 'stale', 'warning', 'compliant', 'compliant'], 'worst first');
  const keys = ['id', 'hostname', 'systemUuid', 'labels', 'status', 'checks', 'reasons', 'offsetMs', 'uncertaintyMs', 'worstOffsetMs', 'worstUncertaintyMs', 'worstSample', 'rtcOffsetS', 'rtcMode', 'clocksource', 'timezone', 'ntp', 'compliantShare', 'driftPpm', 'lastReportMs', 'lastReport', 'evidence', 'hours', 'series'];
  for (const r of j.rows) t.same(Object.keys(r), keys, `${r.id}: every field, nulls included`);
  const db = j.rows[0];
  const src = data.rows[0];
  t.equal(db.offsetMs, src?.offsetMs, 'exact, not rounded');
  t.equal(db.series.atMs.length, src?.series.length);
  t.same([db.series.atMs[0], db.series.offsetMs[0], db.series.uncertaintyMs[0]], [src?.series[0]?.atMs, src?.series[0]?.offsetMs, src?.series[0]?.uncertaintyMs], 'series as columns');
  t.same(Object.keys(db.hours), ['hourMs', 'reports', 'measured', 'offsetMinMs', 'offsetMaxMs', 'uncertaintyMaxMs', 'compliantShare']);
  t.same(db.ntp, { daemon: 'chronyd', synchronized: false, server: '10.0.0.1' });
  t.equal(j.rows[1].offsetMs, null);
  t.same(j.rows[1].reasons, { reporting: 'no report for 3.0 d' });
});

t.test('summary and ordering helpers', async (t) => {
  t.same(summarizeRows([]), { agents: 0, byStatus: { compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 } });
  const d = dayOfData();
  const again = buildExportData({ period: d.period, generatedAtMs: d.generatedAtMs, limits: d.limits, rows: [...d.rows].reverse() });
  t.same(again.rows.map((r) => r.id), d.rows.map((r) => r.id), 'order does not depend on input order');
});

t.test('checkExportData catches data that would lie', async (t) => {
  const d = dayOfData();
  const bad = { ...d, period: { fromMs: 10, toMs: 10 }, limits: { warnMs: 0, failMs: 10 }, rows: d.rows.map((r, i) => (i === 0 ? { ...r, offsetMs: Number.NaN, compliantShare: 1.5, worstUncertaintyMs: null } : r)) };
  const problems = checkExportData(bad);
  t.match(problems, [/period/, /limits/, /offsetMs is not a finite number/, /compliantShare must be within 0..1/, /worstOffsetMs and worstUncertaintyMs go together/]);
});
