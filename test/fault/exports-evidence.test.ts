/**
 * Issue 11, items 2 and 13, against the real collector CLI and its export directory:
 * - 2: a read token cannot run an export (--admin-tokens is the third kind of token); manual runs
 *   of the very period of a scheduled export, more of them than --export-keep, neither replace nor
 *   delete it: its bytes stay the same and its signature verifies; manual runs live in
 *   <dir>/manual with their own retention; after the scheduled files are gone (as retention would
 *   remove them), a restart does not export that period again: the scheduler goes by its record;
 * - 13: a manifest that lists a symlink (to /etc/passwd), and a manifest that is a symlink, are
 *   neither listed nor served.
 */
import t from 'tap';
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newToken } from '@clockwatch/collector';
import { ed25519Files } from '../integration/helpers.js';
import { makeReport } from '../collector/helpers.js';
import { cli, startCollector, waitFor } from './helpers.js';

t.test('scheduled exports cannot be replaced or deleted by manual runs; the right to run one is an admin token; no symlink is served', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const exportsDir = join(dir, 'exports');
  const keys = ed25519Files(dir);
  const read = newToken();
  const admin = newToken();
  writeFileSync(join(dir, 'read-tokens'), `${read.line}\n`);
  writeFileSync(join(dir, 'admin-tokens'), `${admin.line}\n`);
  const args = [
    '--export-dir', exportsDir, '--export-every', '1h', '--export-keep', '1', '--export-manual-keep', '2', '--export-key', keys.privateKey,
    '--read-tokens', join(dir, 'read-tokens'), '--admin-tokens', join(dir, 'admin-tokens'),
  ];
  let c = await startCollector(t, { db, args });
  await fetch(`${c.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makeReport({ agentId: 'ev', atMs: Date.now() - 100 })) });
  const top = () => readdirSync(exportsDir).filter((n) => n.endsWith('.manifest.json'));
  await waitFor('the scheduled export at start', () => top().length === 1 && /export written/.test(c.out()));
  const scheduledName = top()[0] as string;
  const scheduledPath = join(exportsDir, scheduledName);
  const manifest = JSON.parse(readFileSync(scheduledPath, 'utf8')) as { kind: string; period: { fromMs: number; toMs: number }; files: { name: string }[] };
  t.equal(manifest.kind, 'scheduled', 'the signed manifest says scheduled');
  const snapshot = () => [scheduledName, ...manifest.files.map((f) => f.name)].map((n) => readFileSync(join(exportsDir, n), 'utf8'));
  const before = snapshot();

  const run = (token: string | null) =>
    fetch(`${c.url}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ fromMs: manifest.period.fromMs, toMs: manifest.period.toMs }),
    });
  const noToken = await run(null);
  t.equal(noToken.status, 401, 'no token: refused');
  const withRead = await run(read.token);
  t.equal(withRead.status, 401, 'a read token cannot run an export');
  t.equal(((await withRead.json()) as { code: string }).code, 'CW_ERR_TOKEN_INVALID');
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await run(admin.token);
    const body = (await r.json()) as { name: string; kind: string };
    t.equal(r.status, 200, `manual run ${i + 1} of the scheduled period`);
    t.equal(body.kind, 'manual');
    names.push(body.name);
  }
  t.equal(new Set(names).size, 4, 'each manual run has a name of its own');
  t.same(snapshot(), before, 'the scheduled export is byte for byte what the schedule wrote');
  t.same(top(), [scheduledName], 'and it is still there although --export-keep is 1');
  t.equal(readdirSync(join(exportsDir, 'manual')).filter((n) => n.endsWith('.manifest.json')).length, 2, 'manual runs keep their own retention (--export-manual-keep 2)');
  const v = await cli(['verify', scheduledPath, '--public-key', keys.publicKey]);
  t.equal(v.code, 0, `the scheduled export verifies: ${v.stdout.trim()}`);
  const list = (await (await fetch(`${c.url}/v1/exports`, { headers: { authorization: `Bearer ${read.token}` } })).json()) as { exports: { kind: string }[] };
  t.same(list.exports.map((e) => e.kind).sort(), ['manual', 'manual', 'scheduled'], 'the listing shows both kinds');

  // Item 13: symlinks in the export directory.
  symlinkSync('/etc/passwd', join(exportsDir, 'evil.csv'));
  writeFileSync(
    join(exportsDir, 'evil.manifest.json'),
    JSON.stringify({ format: 'clockwatch-export-manifest', version: 1, name: 'evil', period: manifest.period, generatedAtMs: Date.now(), generatedAt: '', files: [{ name: 'evil.csv', bytes: 1, sha256: '0'.repeat(64) }] }),
  );
  symlinkSync(scheduledPath, join(exportsDir, 'alias.manifest.json'));
  const auth = { headers: { authorization: `Bearer ${read.token}` } };
  const evil = await fetch(`${c.url}/v1/exports/evil.csv`, auth);
  const evilBody = await evil.text();
  t.equal(evil.status, 404, 'a listed symlink is not served');
  t.notMatch(evilBody, /root:/, 'nothing of its target is sent');
  t.equal((await fetch(`${c.url}/v1/exports/alias.manifest.json`, auth)).status, 404, 'a manifest that is a symlink is not served');
  const list2 = (await (await fetch(`${c.url}/v1/exports`, auth)).json()) as { exports: { name: string }[] };
  t.notOk(list2.exports.some((e) => e.name === scheduledName.replace('.manifest.json', '') && list2.exports.filter((x) => x.name === e.name).length > 1), 'the symlinked manifest is not listed twice');

  // The scheduler goes by its own record: with the scheduled files gone, a restart does not export the period again.
  await c.kill('SIGTERM');
  for (const n of [scheduledName, ...manifest.files.map((f) => f.name), 'evil.csv', 'evil.manifest.json', 'alias.manifest.json']) rmSync(join(exportsDir, n), { force: true });
  c = await startCollector(t, { db, args });
  await waitFor('the scheduler to be armed after its catch-up', async () => {
    const l = (await (await fetch(`${c.url}/v1/exports`, auth)).json()) as { nextRunAtMs: number | null; running: boolean };
    return l.nextRunAtMs !== null && !l.running;
  });
  // (A new hour may have come due meanwhile and be exported: only this period must not come back.)
  t.notOk(top().includes(scheduledName), 'the period the record says is done was not exported again');
  t.notOk(c.out().includes(`export written: ${scheduledName.replace('.manifest.json', '')}"`), 'not written at start');
  await c.kill('SIGTERM');
});
