/**
 * Worker thread of BackgroundCheckpointer (sqlite-checkpoint.ts): its own connection to the
 * database file, PASSIVE checkpoints with a short pause between them, until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, synchronous, everyMs } = workerData as { path: string; synchronous: 'NORMAL' | 'FULL'; everyMs: number };
const db = new Database(path, { fileMustExist: true });
db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
let stopped = false;
let timer: NodeJS.Timeout | null = null;
let failures = 0;

function finish(): void {
  if (timer) clearTimeout(timer);
  db.close();
  parentPort?.close();
}

function pass(): void {
  timer = null;
  if (stopped) return finish();
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
  } catch (err) {
    // SQLITE_BUSY and the like: the writer's own checkpoint goes on; say so now and then.
    if (failures++ % 100 === 0) parentPort?.postMessage({ error: (err as Error).message });
  }
  timer = setTimeout(pass, everyMs);
}

parentPort?.on('message', (m) => {
  if (m !== 'stop') return;
  stopped = true;
  if (timer) finish();
});
pass();
