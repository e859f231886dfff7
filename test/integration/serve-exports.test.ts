/**
 * The export scheduler wired into serve: `--export-every 1h` exports the last full hour at start
 * (catch-up), signed with `--export-key`, and does not export it again after a restart; shutdown
 * waits for a run in flight; and the scheduler's and the libvirt audit's timers never keep a
 * process alive.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { openSqliteStore, type SampleRecord } from '@clockwatch/collector';
import { appWith, makeReport, recordOf, repoRoot } from '../collector/helpers.js';
import { DAY_AGENTS, dayReport, ed25519Files, MIN_MS, runCli, serve, until } from './helpers.js';

const HOUR = 3_600_000;

t.test('serve --export-every 1h: catch-up at start, signed, not repeated after a restart', async (t) => {
  const dir = t.testdir({ exports: {} });
  const db = join(dir, 'clockwatch.db');
  const keys = ed25519Files(dir);
  // Two hours of reports up to now.
  const store = openSqliteStore({ path: db });
  const start = Date.now() - 2 * HOUR;
  for (let m = 0; m < 118; m++) await store.write(DAY_AGENTS.slice(0, 2).map((a) => recordOf(dayReport(a, start, m), start + m * MIN_MS + 7_050)));
  await store.close();

  const exportsDir = join(dir, 'exports');
  const args = ['--db', db, '--export-dir', exportsDir, '--export-every', '1h', '--export-key', keys.privateKey, '--export-keep', '3'];
  let served = await serve(args);
  const manifests = () => readdirSync(exportsDir).filter((n) => n.endsWith('.manifest.json'));
  const first = await until(() => (manifests().length > 0 ? manifests() : undefined), 20_000, 'the catch-up export');
  t.equal(first.length, 1, 'one export at start');
  const manifestPath = join(exportsDir, first[0] as string);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  t.equal(manifest.period.toMs - manifest.period.fromMs, HOUR, 'a period of --export-every');
  t.equal(manifest.period.toMs % HOUR, 0, 'aligned to the UTC hour');
  t.ok(manifest.period.toMs <= Date.now() && manifest.period.toMs > Date.now() - 2 * HOUR, 'the last full hour');
  t.equal(manifest.files.length, 3);
  t.ok(manifest.signature, 'signed with --export-key');
  // Logged once the export (files, manifest, retention) is done, a moment after the manifest appears.
  await until(() => (/"reason":"catch-up".*"msg":"export written: clockwatch-/.test(served.logs()) ? true : undefined), 10_000, 'the log line');
  t.pass('logged with reason catch-up');
  const v = runCli(['verify', manifestPath, '--public-key', keys.publicKey]);
  t.equal(v.code, 0, v.stdout + v.stderr);
  const json = JSON.parse(readFileSync(join(exportsDir, manifest.files.find((f: { name: string }) => f.name.endsWith('.json')).name), 'utf8'));
  t.same(json.rows.map((r: { id: string }) => r.id).sort(), ['db-drift', 'web-ok'], 'the agents of that hour');

  const pool = new Pool(served.url);
  const list = await pool.request({ method: 'GET', path: '/v1/exports' });
  const body = (await list.body.json()) as { everyMs: number; signed: boolean; nextRunAtMs: number; exports: { name: string }[] };
  await pool.close();
  t.equal(body.everyMs, HOUR);
  t.equal(body.signed, true);
  t.ok(body.nextRunAtMs > Date.now() && body.nextRunAtMs <= Date.now() + HOUR + 31_000, 'the next run is armed for the next hour');
  t.equal(await served.stop(), 0, 'stops with exit 0');

  // A restart does not export the same period again (its manifest is untouched).
  const before = readFileSync(manifestPath, 'utf8');
  served = await serve(args);
  t.teardown(() => served.stop());
  await new Promise((r) => setTimeout(r, 1500));
  const after = manifests();
  const boundaryPassed = Math.floor((Date.now() - 30_000) / HOUR) * HOUR > manifest.period.toMs;
  if (!boundaryPassed) t.same(after, first, 'no new export');
  t.equal(readFileSync(manifestPath, 'utf8'), before, 'the exported period is not written again');
  t.equal(await served.stop(), 0);
});

t.test('shutdown waits for the export in flight', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'clockwatch.db');
  const store = openSqliteStore({ path: db });
  // 300 agents × 200 reports: an export that takes a moment.
  const now = Date.now();
  const base = Array.from({ length: 300 }, (_, i) => recordOf(makeReport({ agentId: `vm-${i}`, atMs: now - 3 * HOUR }), now - 3 * HOUR + 50));
  for (let k = 0; k < 200; k++) {
    const batch: SampleRecord[] = base.map((b, i) => {
      const atMs = now - 3 * HOUR + k * MIN_MS + i;
      return { ...b, reportId: `r-${i}-${k}`, contentHash: (k * 1000 + i).toString(16).padStart(16, '0'), atMs, receivedAtMs: atMs + 50, offsetMs: (i % 7) * 100 + k, status: i % 7 > 3 ? 'noncompliant' : 'compliant', seq: k };
    });
    await store.write(batch);
  }
  await store.close();
  const exportsDir = join(dir, 'exports');
  const h = await appWith({ dbPath: db, exports: { dir: exportsDir, schedule: false } });
  const post = h.app.inject({ method: 'POST', url: '/v1/exports', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ fromMs: now - 4 * HOUR, toMs: now }) });
  await until(() => (h.app.clockwatch.exports?.busy ? true : undefined), 5_000, 'the run to start');
  const closing = h.close();
  const res = await post;
  t.equal(res.statusCode, 200, 'the run in flight finished');
  await closing;
  // A manual run lives in <export-dir>/manual (issue 11, item 2).
  const manualDir = join(exportsDir, 'manual');
  const manifest = readdirSync(manualDir).find((n) => n.endsWith('.manifest.json'));
  t.ok(manifest, 'its manifest was written before the collector closed');
  t.equal(runCli(['verify', join(manualDir, manifest as string)]).code, 0, 'complete files');
  t.notOk(readdirSync(manualDir).some((n) => n.endsWith('.tmp')), 'no temporary file left');
});

t.test("the scheduler's and the libvirt audit's timers do not keep a process alive", async (t) => {
  const dir = t.testdir({ exports: {}, xml: {} });
  writeFileSync(join(dir, 'xml', 'a.xml'), readFileSync(join(repoRoot, 'test', 'fixtures', 'libvirt', 'linux-utc.xml')));
  const script = `
    const { buildApp, openSqliteStore } = await import(${JSON.stringify(join(repoRoot, 'packages', 'collector', 'dist', 'index.js'))});
    const store = openSqliteStore({ path: ':memory:' });
    const app = await buildApp({ store, defaultMetrics: false, exports: { dir: ${JSON.stringify(join(dir, 'exports'))}, everyMs: 3600000 }, libvirt: { xmlDir: ${JSON.stringify(join(dir, 'xml'))}, refreshMs: 60000 } });
    await app.ready();
    console.log('ready', app.clockwatch.exports.nextRunAtMs !== null || app.clockwatch.exports.busy, app.clockwatch.libvirt.snapshot().domains.length);
  `;
  // Killed at 60 s if a timer held it (status null, signal SIGTERM): exit 0 means it ended by itself
  // with a timer armed for the next hour.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.signal, null, 'exited by itself, not killed at the 60 s limit');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^ready true 1$/m, 'the scheduler armed and the domains read');
});
