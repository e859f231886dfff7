/**
 * CSV: RFC 4180 (CRLF, one header row, quoting of comma/quote/CR/LF), the documented columns, the
 * formula-injection guard on text only, and the same numbers as the JSON export.
 */
import t from 'tap';
import { CSV_COLUMNS, CSV_CHECK_IDS, csvField, renderCsv, renderJson } from '@clockwatch/collector/exports';
import { DAY_FROM, DAY_TO, HOSTILE_HOSTNAME, dayOfData, parseCsv } from './data.js';

t.test('field quoting (RFC 4180)', async (t) => {
  const cases: [Parameters<typeof csvField>[0], string][] = [
    [{ text: 'plain' }, 'plain'],
    [{ text: 'a,b' }, '"a,b"'],
    [{ text: 'say "hi"' }, '"say ""hi"""'],
    [{ text: 'line1\nline2' }, '"line1\nline2"'],
    [{ text: 'cr\rhere' }, '"cr\rhere"'],
    [{ text: '' }, ''],
    [null, ''],
    [{ text: 'trailing space ' }, 'trailing space '],
  ];
  for (const [cell, want] of cases) t.equal(csvField(cell), want, JSON.stringify(cell));
});

t.test('formula injection: text cells starting with = + - @ tab CR get a quote; numbers never', async (t) => {
  t.equal(csvField({ text: '=1+1' }), "'=1+1");
  t.equal(csvField({ text: '+1' }), "'+1");
  t.equal(csvField({ text: '-evil' }), "'-evil");
  t.equal(csvField({ text: '@SUM(A1)' }), "'@SUM(A1)");
  t.equal(csvField({ text: '\tx' }), "'\tx");
  t.equal(csvField({ text: '\rx' }), `"'\rx"`);
  t.equal(csvField({ text: '=HYPERLINK("http://a","b")' }), `"'=HYPERLINK(""http://a"",""b"")"`, 'prefixed, then quoted');
  t.equal(csvField({ text: 'a=b' }), 'a=b', 'only a leading sign matters');
  t.equal(csvField({ num: -150.5 }), '-150.5', 'a negative number stays a number');
  t.equal(csvField({ num: 0.1 + 0.2 }), '0.30000000000000004', 'shortest round-trip form: exactly the JSON value');
  t.equal(csvField({ num: -1e-7 }), '-1e-7');
  t.equal(csvField({ num: Number.NaN }), '', 'never NaN in a cell');
});

t.test('the export: header, CRLF, one record per agent', async (t) => {
  const data = dayOfData();
  const text = renderCsv(data);
  t.ok(text.endsWith('\r\n'));
  t.notOk(/[^\r]\n/.test(text.replace(/"[^"]*(?:""[^"]*)*"/g, '')), 'outside quoted fields every LF follows a CR');
  const rows = parseCsv(text);
  const header = rows[0] as string[];
  t.same(header, CSV_COLUMNS.map((c) => c.name), 'header = documented columns');
  t.equal(rows.length, 1 + data.rows.length);
  t.ok(rows.every((r) => r.length === header.length), 'every record has every column');
  for (const id of CSV_CHECK_IDS) t.ok(header.includes(`check_${id.replace(/-/g, '_')}`), `column for ${id}`);
  t.ok(CSV_COLUMNS.every((c) => c.doc.length > 10), 'every column is documented');
  t.same(header.slice(0, 5), ['agent_id', 'hostname', 'system_uuid', 'labels', 'status']);

  const rec = (id: string) => Object.fromEntries(header.map((h, i) => [h, (rows.find((r) => r[0] === id) as string[])[i] as string]));
  const evil = rec('evil-1');
  t.equal(evil.hostname, HOSTILE_HOSTNAME, 'text survives quoting unchanged');
  t.equal(evil.clocksource, `'=cmd|"/c calc"!A1`);
  t.equal(evil.ntp_server, "'-evil");
  t.equal(evil.offset_ms, '-150.5', 'number, no prefix');
  t.same(JSON.parse(evil.labels as string), { note: '=HYPERLINK("http://attacker.example","click")', owner: '"ops", night shift\r\nline 2', tag: '@SUM(1+1)', x: '+1', y: '-1' }, 'labels: JSON, exact');
  t.equal(evil.check_clocksource, '', 'a check not evaluated is empty');
  t.equal(evil.problems, 'offset: offset <img src=x onerror=alert(1)> ms');

  const stale = rec('old-build');
  t.equal(stale.offset_ms, '');
  t.equal(stale.ntp_synchronized, '');
  t.equal(stale.status, 'stale');
  t.equal(stale.last_report_utc, new Date(DAY_FROM - 3 * 86_400_000).toISOString());
  const db = rec('db-alma9');
  t.equal(db.check_libvirt_clock, 'fail');
  t.equal(db.ntp_synchronized, 'false');
  t.equal(db.period_start_utc, '2026-11-24T00:00:00.000Z');
  t.equal(db.period_end_utc, new Date(DAY_TO).toISOString());
  t.match(db.problems, /^offset: .* \| rtc: .* \| ntp: .* \| libvirt-clock: configured <clock offset='localtime'>/);
});

t.test('CSV and JSON state the same numbers', async (t) => {
  const data = dayOfData();
  const rows = parseCsv(renderCsv(data));
  const header = rows[0] as string[];
  const json = JSON.parse(renderJson(data)) as { rows: Record<string, unknown>[] };
  const pairs: [string, (r: Record<string, unknown>) => unknown][] = [
    ['offset_ms', (r) => r.offsetMs],
    ['uncertainty_ms', (r) => r.uncertaintyMs],
    ['worst_offset_ms', (r) => r.worstOffsetMs],
    ['worst_uncertainty_ms', (r) => r.worstUncertaintyMs],
    ['rtc_offset_s', (r) => r.rtcOffsetS],
    ['compliant_share', (r) => r.compliantShare],
    ['drift_ppm', (r) => r.driftPpm],
    ['last_report_ms', (r) => r.lastReportMs],
  ];
  rows.slice(1).forEach((rec, i) => {
    const j = json.rows[i] as Record<string, unknown>;
    t.equal(rec[0], j.id, 'same order');
    for (const [col, get] of pairs) {
      const cell = rec[header.indexOf(col)] as string;
      const v = get(j);
      t.equal(cell === '' ? null : Number(cell), v, `${j.id} ${col}`);
    }
  });
});
