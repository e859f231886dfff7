/**
 * The collector as a service: `backup` next to a running `serve` that keeps ingesting, the
 * hardening of both systemd units (systemd-analyze security ≤ 3.0, verify), and the example
 * config naming only options serve knows.
 */
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { SERVE_OPTIONS } from '../../packages/collector/dist/config.js';
import { makeReport, repoRoot } from '../collector/helpers.js';
import { cli, runCli, runCliAsync, serve } from '../integration/helpers.js';

t.setTimeout(300_000);
const run = promisify(execFile);
const deploy = (f: string) => path.join(repoRoot, 'deploy', f);
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

t.test('backup while serve ingests: a checked copy with every report acknowledged before it started', async (t) => {
  const dir = t.testdir();
  const db = path.join(dir, 'live.db');
  const s = await serve(['--db', db, '--rate-limit', '0']);
  t.teardown(() => s.stop());
  const pool = new Pool(s.url, { connections: 2 });
  t.teardown(() => pool.close());

  const acked: string[] = [];
  let stop = false;
  let batches = 0;
  // Ingest in batches of 25 reports over 20 agents until told to stop; every 200 adds its ids.
  const ingest = (async () => {
    while (!stop) {
      const now = Date.now();
      const reports = Array.from({ length: 25 }, (_, i) => makeReport({ atMs: now - 1000, agentId: `vm-${(batches * 25 + i) % 20}` }));
      const res = await pool.request({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reports) });
      const body = (await res.body.json()) as { accepted: number; rejected: unknown[] };
      if (res.statusCode !== 200 || body.rejected.length > 0) throw new Error(`ingest answered ${res.statusCode}: ${JSON.stringify(body).slice(0, 300)}`);
      acked.push(...reports.map((r) => r.reportId));
      batches++;
    }
  })();

  // A database of a few thousand samples before the copy starts, so that it takes more than a step.
  while (acked.length < 3000) await new Promise((r) => setTimeout(r, 50));
  const ackedBefore = acked.slice();
  const batchesBefore = batches;
  const out = path.join(dir, 'copy.db');
  const backup = await runCliAsync(['backup', '--db', db, '--out', out]);
  const batchesDuring = batches - batchesBefore;
  stop = true;
  await ingest;
  t.equal(backup.code, 0, backup.stderr);
  t.match(backup.stdout, /^backup of .*live\.db in .*copy\.db: \d+ samples of 20 agents, [\d.]+ MiB, integrity_check ok \(\d+ ms\)\n$/);
  t.comment(`${ackedBefore.length} reports acknowledged before the backup, ${batchesDuring} batches of 25 committed while it ran`);

  t.notOk(existsSync(`${out}-wal`), 'the copy is one file');
  const copy = new Database(out, { readonly: true, fileMustExist: true });
  t.teardown(() => copy.close());
  t.same(copy.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  const inCopy = new Set((copy.prepare('SELECT report_id FROM samples').all() as { report_id: string }[]).map((r) => r.report_id));
  const missing = ackedBefore.filter((id) => !inCopy.has(id));
  t.same(missing, [], 'every report answered 200 before the backup started is in the copy');
  t.ok(inCopy.size >= ackedBefore.length);

  // The copy is a collector database: the offline commands read it.
  const status = runCli(['status', '--db', out, '--json']);
  t.equal(status.code, 0, status.stderr);
  t.equal((JSON.parse(status.stdout) as { agents: unknown[] }).agents.length, 20);

  // FILE exists: refused without --force, nothing changed; replaced with --force.
  const again = runCli(['backup', '--db', db, '--out', out]);
  t.equal(again.code, 2);
  t.match(again.stderr, /^clockwatch-collector backup: --out: .*copy\.db exists \(--force replaces it\)\n$/);
  t.equal(runCli(['backup', '--db', db, '--out', out, '--force']).code, 0);

  // With serve stopped (WAL checkpointed and removed on close) the read-only source still opens.
  await s.stop();
  const cold = runCli(['backup', '--db', db, '--out', path.join(dir, 'cold.db')]);
  t.equal(cold.code, 0, cold.stderr);
  const c2 = new Database(path.join(dir, 'cold.db'), { readonly: true });
  t.equal((c2.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n, acked.length, 'after the stop: every acknowledged report');
  c2.close();
});

t.test('backup: bad input is one line and exit 2', async (t) => {
  const dir = t.testdir({ 'not-a-db': 'hello' });
  const cases: [string[], RegExp][] = [
    [['backup'], /--out: needs a file to write the copy to/],
    [['backup', '--db', path.join(dir, 'none.db'), '--out', path.join(dir, 'x.db')], /--db: .*none\.db does not exist/],
    [['backup', '--db', path.join(dir, 'none.db'), '--out', path.join(dir, 'no-dir', 'x.db')], /--out: directory .*no-dir does not exist/],
    [['backup', '--db', path.join(dir, 'a.db'), '--out', path.join(dir, 'a.db')], /--out: is the database itself/],
    [['backup', '--db', path.join(dir, 'not-a-db'), '--out', path.join(dir, 'y.db')], /--db: cannot open .*not-a-db/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, re);
    t.equal(r.stderr.split('\n').length, 2, 'one line');
  }
  t.notOk(existsSync(path.join(dir, 'y.db')), 'nothing written on failure');
  t.ok(existsSync(cli));
});

t.test('the collector unit: state directory, config, hardened; the example config names known options', async (t) => {
  const unit = readFileSync(deploy('clockwatch-collector.service'), 'utf8');
  t.match(unit, /^User=clockwatch-collector$/m);
  t.match(unit, /^StateDirectory=clockwatch-collector$/m);
  t.match(unit, /^Environment=CLOCKWATCH_CONFIG=\/etc\/clockwatch\/collector\.json$/m);
  t.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/clockwatch\/packages\/collector\/bin\/clockwatch-collector\.mjs serve$/m);
  t.match(readFileSync(deploy('clockwatch-collector.sysusers.conf'), 'utf8'), /^u clockwatch-collector - .* \/var\/lib\/clockwatch-collector /m);
  const example = JSON.parse(readFileSync(deploy('collector.example.json'), 'utf8')) as Record<string, unknown>;
  const known = new Set<string>(SERVE_OPTIONS.map((o) => o.key));
  t.same(Object.keys(example).filter((k) => !known.has(k)), [], 'every key is a serve option');
  t.match(example, { db: '/var/lib/clockwatch-collector/clockwatch.db', exportDir: /^\/var\/lib\/clockwatch-collector\// }, 'state under StateDirectory');
});

for (const name of ['clockwatch-agent', 'clockwatch-collector']) {
  t.test(`${name}.service: systemd-analyze security ≤ 3.0`, { skip: hasSystemdAnalyze ? false : 'systemd-analyze is missing (Debian package systemd)' }, async (t) => {
    // --offline: judge the unit file itself, not a loaded unit (no systemd runs the tests).
    const dir = t.testdir();
    const file = path.join(dir, `${name}.service`);
    writeFileSync(file, readFileSync(deploy(`${name}.service`)));
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
    const m = /Overall exposure level for .*: (\d+\.\d+) /.exec(r.stdout);
    t.ok(m, m ? 'an overall score' : `no overall score in: ${r.stdout.slice(-400)}${r.stderr}`);
    const score = Number(m?.[1]);
    t.comment(`${name}.service: exposure ${score}`);
    t.ok(score <= 3.0, `exposure ${score} ≤ 3.0`);
  });
}

t.test('the collector unit passes systemd-analyze verify', { skip: hasSystemdAnalyze ? false : 'systemd-analyze is missing (Debian package systemd)' }, async (t) => {
  // verify checks that ExecStart's binary exists: /usr/bin/node is there (the tests run on it),
  // and the path /opt/clockwatch/... is an argument, not checked.
  try {
    const { stderr } = await run('systemd-analyze', ['verify', deploy('clockwatch-collector.service')], { cwd: '/' });
    t.equal(stderr.trim(), '', 'no warnings');
  } catch (err) {
    t.fail(`systemd-analyze verify: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
});
