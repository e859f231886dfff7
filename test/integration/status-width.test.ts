/**
 * `clockwatch-collector status` fits the terminal: with --width N (and the terminal's columns when
 * stdout is one; 100 when not) no line is longer than N, each agent is one line, and each reason is
 * on its own indented lines, word-wrapped. RTC offsets read as '+28800 s → +8.0 h' or '-5.8 d',
 * never '-505025.4 s'.
 */
import t from 'tap';
import { join } from 'node:path';
import { openSqliteStore } from '@clockwatch/collector';
import { formatRtcOffset, formatStatus, statusDocument, wrapText } from '../../packages/collector/dist/commands/status-format.js';
import { statusCommand } from '../../packages/collector/dist/commands/status.js';
import { makeReport, recordOf } from '../collector/helpers.js';
import { DAY_MS, runCli, seedDay } from './helpers.js';

t.test('RTC offsets a reader can take in', async (t) => {
  t.equal(formatRtcOffset(0.4), '+0.4 s');
  t.equal(formatRtcOffset(-0.04), '-0.0 s');
  t.equal(formatRtcOffset(28_800), '+28800 s → +8.0 h', 'a zone offset: the seconds and the hours');
  t.equal(formatRtcOffset(28_801.2), '+28801 s → +8.0 h', 'within the RTC resolution of it');
  t.equal(formatRtcOffset(-18_000), '-18000 s → -5.0 h');
  t.equal(formatRtcOffset(20_700), '+20700 s → +5.75 h', 'Asia/Kathmandu');
  t.equal(formatRtcOffset(-505_025.4), '-5.8 d');
  t.equal(formatRtcOffset(28_900), '+8.0 h', 'not a whole quarter hour: no seconds');
  t.equal(formatRtcOffset(600.5), '+10.0 min');
});

t.test('wrapText', async (t) => {
  t.same(wrapText('a bb ccc dddd', 6), ['a bb', 'ccc', 'dddd']);
  t.same(wrapText('abcdefghij', 4), ['abcd', 'efgh', 'ij'], 'a word longer than the line is cut');
  t.same(wrapText('', 10), []);
});

t.test('status fits --width and puts reasons on their own lines', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'w.db');
  const store = openSqliteStore({ path: db });
  await seedDay(store, Date.now() - DAY_MS + 50_000);
  const now = Date.now();
  // An RTC in Asia/Shanghai local time, and one almost six days behind.
  const sh = makeReport({ agentId: 'rtc-local-long-id', hostname: 'shanghai-app-server-01.example.internal', atMs: now - 1000, rtcOffsetS: 28_800 });
  const behind = makeReport({ agentId: 'rtc-behind', hostname: 'old-01', atMs: now - 1000, rtcOffsetS: -505_025.4 });
  await store.write([recordOf(sh, now - 950), recordOf(behind, now - 950)]);
  await store.close();

  for (const width of [60, 80, 160]) {
    const r = runCli(['status', '--db', db, '--width', String(width)]);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    for (const l of lines) t.ok(l.length <= width, `width ${width}: ${l.length} ≤ ${width}: ${l}`);
    const agents = lines.filter((l) => /^(noncompliant|stale|unknown|warning|compliant) /.test(l));
    t.equal(agents.length, 6, `width ${width}: one line per agent`);
    const reasons = lines.filter((l) => /^ {4}\S/.test(l));
    t.ok(reasons.length >= 4, `width ${width}: reasons start on their own lines, indented 4`);
    for (const l of lines.filter((x) => x.startsWith(' ') && !/^ {4}\S/.test(x))) t.match(l, /^( {6}| {13})\S/, 'reason continuations indented 6, figures of a narrow layout 13');
    t.match(r.stdout, /RTC \+28800 s → \+8\.0 h/);
    t.match(r.stdout, /RTC -5\.8 d/);
    // (The judge's reason text is quoted as it is; the figures are the table's.)
    t.notMatch(lines.filter((l) => !/^ {4}\S|^ {6}\S/.test(l)).join('\n'), /505025/, 'never the raw seconds of a week in the figures');
    if (width === 60) t.match(r.stdout, /\nnoncompliant shanghai-app-server-01\.example\.internal \(rtc[\w-]*…\n/, 'narrow: the name is cut with an ellipsis');
    else t.match(r.stdout, /shanghai-app-server-01\.example\.internal \(rtc-local-long-id\)/, 'wide enough: the whole name');
    if (width === 160) t.ok(agents.every((l) => /seen \d+ (s|min) ago$|seen [\d.]+ h ago$/.test(l)), 'wide: the figures on the agent line');
  }
  // In 160 columns no agent line wraps and a short reason stays on one line.
  const wide = runCli(['status', '--db', db, '--width', '160']).stdout;
  t.match(wide, /\n {4}rtc fail: [^\n]+/);

  // Not a terminal and no --width: 100 columns. On a terminal: its columns.
  const plain = runCli(['status', '--db', db]).stdout.trimEnd().split('\n');
  for (const l of plain) t.ok(l.length <= 100, `default 100: ${l.length}`);
  let out = '';
  const code = await statusCommand.run({ argv: ['--db', db], env: { NO_COLOR: '1' }, out: (x) => (out += x), err: () => undefined, onSignal: () => undefined, isTTY: { stdout: true, stderr: true }, columns: 72 });
  t.equal(code, 0);
  for (const l of out.trimEnd().split('\n')) t.ok(l.length <= 72, `terminal of 72 columns: ${l.length}`);

  const bad = runCli(['status', '--db', db, '--width', '12']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--width: expected a number of columns from 40 to 1000, got '12'/);
});

t.test('formatStatus keeps colours out of the width', async (t) => {
  const doc = statusDocument(
    [{ id: 'a', hostname: 'a', status: 'noncompliant', offsetMs: 1, uncertaintyMs: 0.2, rtcOffsetS: null, lastSeenMs: 0, checks: { ntp: 'fail' }, problems: [{ check: 'ntp', status: 'fail', reason: 'x '.repeat(60) }] }],
    1000,
    'http://127.0.0.1:7070',
  );
  const text = formatStatus(doc, { color: true, width: 50 });
  // eslint-disable-next-line no-control-regex
  for (const l of text.replace(/\x1b\[[\d;]*m/g, '').trimEnd().split('\n')) t.ok(l.length <= 50, `${l.length}`);
  t.match(text, /\x1b\[31mntp fail\x1b\[0m: x x/);
  t.match(text.replace(/\s+/g, ' '), /\(runbook: http:\/\/127\.0\.0\.1:7070\/docs\/checks\/ntp\)/);
});

t.test('an agentless guest keeps its evidence source when its name is cut', async (t) => {
  const guest = { id: 'domain:1c0e5a1e-0000-4000-8000-00000000000a', hostname: 'a-rather-long-appliance-name.example.internal', status: 'noncompliant' as const, offsetMs: null, uncertaintyMs: null, rtcOffsetS: 28_800.2, lastSeenMs: 0, checks: {}, problems: [], evidence: 'host audit' as const };
  const withAgent = { ...guest, id: 'b', hostname: 'b', rtcOffsetS: null, evidence: undefined };
  for (const width of [60, 80, 200]) {
    const text = formatStatus(statusDocument([guest, withAgent], 1000, 'x.db'), { color: false, width });
    const line = text.split('\n').find((l) => l.includes('a-rather'))!;
    t.ok(line.length <= width, `${width}: ${line}`);
    t.match(line, /\[host audit\]/, `${width}: the evidence source is on the line`);
    t.notMatch(text.split('\n').find((l) => / b( |$)/.test(l)) ?? '', /\[/, 'an agent line carries no marker');
  }
  t.match(formatStatus(statusDocument([guest], 1000, 'x.db'), { color: false, width: 200 }), /a-rather-long-appliance-name\.example\.internal \(domain:1c0e5a1e-0000-4000-8000-00000000000a\) \[host audit\]/);
});
