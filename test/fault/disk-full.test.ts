/**
 * Disk full (an earlier finding of the adversarial run, kept as a test): the real collector CLI
 * with its database on a 4 MiB tmpfs, fed batches until the file system is full. Every batch is
 * answered — 200 while it fits, then 503 CW_ERR_STORE (the agent keeps its spool), never a crash;
 * /healthz stays up; after a SIGKILL and more space, every report that was acknowledged is in the
 * file. Needs root (mount -t tmpfs); skipped otherwise.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeReport } from '../collector/helpers.js';
import { readDb, startCollector } from './helpers.js';

function canMount(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('the database disk fills up: 503 with a code, nothing acknowledged is lost', async (t) => {
  // Not under t.testdir(): its removal would meet the mount point still mounted.
  const base = mkdtempSync(join(tmpdir(), 'cw-disk-full-'));
  const mnt = join(base, 'small');
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  if (!canMount(mnt)) {
    t.comment('skipped: mount -t tmpfs needs root');
    return;
  }
  t.teardown(() => {
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
  });
  const db = join(mnt, 'c.db');
  const c = await startCollector(t, { db, args: ['--rate-limit', '0'] });
  const acked: string[] = [];
  const codes = new Map<string, number>();
  let refusals = 0;
  for (let b = 0; b < 2000 && refusals < 5; b++) {
    const batch = Array.from({ length: 50 }, (_, i) => {
      const r = makeReport({ agentId: `full-${i}`, seq: b, atMs: Date.now() - 100 });
      r.agent.hostname = `host-${i}-${'x'.repeat(200)}`;
      return r;
    });
    const res = await fetch(`${c.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
    const body = (await res.json()) as { code?: string; results?: { reportId: string }[] };
    const key = `${res.status} ${body.code ?? ''}`.trim();
    codes.set(key, (codes.get(key) ?? 0) + 1);
    if (res.status === 200) acked.push(...(body.results ?? []).map((r) => r.reportId));
    else refusals++;
  }
  t.ok(refusals >= 5, `the disk filled up: ${JSON.stringify([...codes])}`);
  t.same([...codes.keys()].filter((k) => !/^200/.test(k)), ['503 CW_ERR_STORE'], 'every refusal is 503 CW_ERR_STORE');
  t.ok(acked.length > 0, `${acked.length} reports acknowledged before`);
  t.equal((await fetch(`${c.url}/healthz`)).status, 200, 'the collector is up');
  t.ok(c.alive());
  await c.kill('SIGKILL');
  execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
  const stored = new Set(readDb(db, (d) => d.prepare('SELECT report_id FROM samples').pluck().all() as string[]));
  t.equal(acked.filter((id) => !stored.has(id)).length, 0, `every acknowledged report is in the file (${stored.size} stored)`);
});
