/**
 * `clockwatch-collector status`: against the database file (no server) and against a running
 * collector (--url, with a read token), as text and as JSON; colours only on a terminal and never
 * with NO_COLOR.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newToken, openSqliteStore } from '@clockwatch/collector';
import { statusCommand } from '@clockwatch/collector/commands/status';
import { DAY_MS, runCli, runCliAsync, seedDay, serve } from './helpers.js';

type StatusJson = {
  atMs: number;
  source: string;
  summary: { agents: number; byStatus: Record<string, number> };
  agents: { id: string; hostname: string; status: string; offsetMs: number | null; uncertaintyMs: number | null; problems: { check: string; status: string; reason: string | null }[] }[];
};

const ANSI = /\x1b\[/;

async function inProcess(argv: string[], tty: boolean, env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  const code = await statusCommand.run({ argv, env, out: (x) => (out += x), err: (x) => (err += x), onSignal: () => undefined, isTTY: { stdout: tty, stderr: tty } });
  return { code, out, err };
}

t.test('status over the database file and over HTTP', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'clockwatch.db');
  const store = openSqliteStore({ path: db });
  // The day up to now: web-ok compliant, db-drift 1.4 s ahead, app-tsc on tsc, batch-gone silent since 18:00 of it.
  await seedDay(store, Date.now() - DAY_MS + 50_000);
  await store.close();

  const text = runCli(['status', '--db', db]);
  t.equal(text.code, 0, text.stderr);
  t.notMatch(text.stdout, ANSI, 'no colour when stdout is not a terminal');
  const lines = text.stdout.trimEnd().split('\n');
  t.match(lines.slice(0, 2).join('  '), /^4 agents: 2 noncompliant, 1 stale, 1 compliant {2}\(.*clockwatch\.db, \d{4}-\d\d-\d\dT/);
  // Not a terminal: 100 columns (a long temp path may push the header's source to its own line).
  const body = lines.slice(lines[1]?.startsWith('(') ? 2 : 1);
  for (const l of body) t.ok(l.length <= 100, `fits 100 columns: ${l.length}`);
  const agentLines = body.filter((l) => !l.startsWith(' '));
  t.equal(agentLines.length, 4, 'one line per agent, reasons on their own indented lines');
  t.match(agentLines[0], /^noncompliant +app-rocky9 \(app-tsc\) +-2\.\d{3} ms ±0\.2\d\d ms +RTC \+0\.0 s +seen \d+ s ago$/);
  t.match(agentLines[1], /^noncompliant +db-alma9 \(db-drift\) +\+14\d\d\.\d{3} ms ±0\.2\d\d ms +RTC \+0\.0 s +seen \d+ s ago$/);
  t.match(agentLines[2], /^stale +batch-01 \(batch-gone\) .*seen 6\.\d h ago$/);
  t.match(agentLines[3], /^compliant +web-deb12 \(web-ok\) +[+-]0\.\d{3} ms ±0\.2\d\d ms +RTC \+0\.0 s +seen \d+ s ago$/);
  const reasons = body.join('\n').replace(/\n {6}/g, ' ');
  t.match(reasons, /\n {4}clocksource fail: clocksource is tsc without an invariant TSC[\s\S]*?\(runbook: docs\/checks\/clocksource\.md\)\n/);
  t.match(reasons, /\n {4}offset fail: offset \+14\d\d\.\d ms ±0\.20\d ms: beyond the 1000 ms limit even/);
  t.match(reasons, /\n {4}reporting fail: no report for 6\.\d h/);

  const json = runCli(['status', '--db', db, '--json']);
  t.equal(json.code, 0);
  const doc = JSON.parse(json.stdout) as StatusJson;
  t.same(doc.summary, { agents: 4, byStatus: { compliant: 1, warning: 0, noncompliant: 2, stale: 1, unknown: 0 } });
  t.same(doc.agents.map((a) => a.id), ['app-tsc', 'db-drift', 'batch-gone', 'web-ok'], 'worst first');
  const drift = doc.agents[1]!;
  t.same(drift.problems.map((p) => [p.check, p.status]), [['offset', 'fail']]);
  t.match(drift.problems[0]!.reason, /beyond the 1000 ms limit/);

  // The same fleet through a running collector that wants a read token.
  const read = newToken();
  writeFileSync(join(dir, 'read-tokens'), `${read.line}\n`);
  const served = await serve(['--db', db, '--read-tokens', join(dir, 'read-tokens')]);
  t.teardown(() => served.stop());
  const noToken = await runCliAsync(['status', '--url', served.url]);
  t.equal(noToken.code, 1);
  t.match(noToken.stderr, /^clockwatch-collector status: GET http:\/\/127\.0\.0\.1:\d+\/v1\/agents\?offset=0&limit=10000: 401 CW_ERR_TOKEN_MISSING: /);
  const overHttp = await runCliAsync(['status', '--url', served.url, '--json'], { CLOCKWATCH_READ_TOKEN: read.token });
  t.equal(overHttp.code, 0, overHttp.stderr);
  const httpDoc = JSON.parse(overHttp.stdout) as StatusJson;
  t.equal(httpDoc.source, served.url);
  // "no report for 6.1 h" moves with the clock: compare everything else.
  const stable = (d: StatusJson) => d.agents.map((a) => ({ ...a, problems: a.problems.map((p) => (p.check === 'reporting' ? { ...p, reason: null } : p)) }));
  t.same(stable(httpDoc), stable(doc), 'the same agents, statuses, offsets and reasons as from the file');
  const httpText = await runCliAsync(['status', '--url', served.url, '--read-token', read.token]);
  t.equal(httpText.code, 0);
  t.notMatch(httpText.stdout, ANSI);
  t.equal(httpText.stdout.trimEnd().split('\n').filter((l) => /^(noncompliant|stale|compliant) /.test(l)).length, 4);
  t.match(httpText.stdout, new RegExp(`\\(runbook:\\s+${served.url.replace(/[.]/g, '\\.')}/docs/checks/clocksource\\)`), 'over HTTP the runbook is on the collector asked');

  const refused = await runCliAsync(['status', '--url', 'http://127.0.0.1:9']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /ECONNREFUSED/);
  const both = runCli(['status', '--db', db, '--url', served.url]);
  t.equal(both.code, 2);
  t.match(both.stderr, /^clockwatch-collector status: --db and --url: give one of them$/m);
  t.match(runCli(['status', '--url', 'ftp://x']).stderr, /--url: expected an http\(s\) URL/);
  t.match(runCli(['status', '--db', join(dir, 'none.db')]).stderr, /--db: .*none\.db does not exist/);
});

t.test('colours only on a terminal, never with NO_COLOR', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const store = openSqliteStore({ path: db });
  await seedDay(store, Date.now() - DAY_MS + 50_000);
  await store.close();
  const tty = await inProcess(['--db', db], true);
  t.equal(tty.code, 0);
  t.match(tty.out, /\x1b\[1;31mnoncompliant/, 'the status in colour');
  t.match(tty.out, /\x1b\[31mclocksource fail\x1b\[0m/, 'failing checks in colour');
  t.notMatch((await inProcess(['--db', db], true, { NO_COLOR: '1' })).out, ANSI, 'NO_COLOR');
  t.match((await inProcess(['--db', db], true, { NO_COLOR: '' })).out, ANSI, 'an empty NO_COLOR does not count (no-color.org)');
  t.notMatch((await inProcess(['--db', db], false)).out, ANSI, 'not a terminal');
  t.notMatch((await inProcess(['--db', db, '--json'], true)).out, ANSI, '--json is plain');
});
