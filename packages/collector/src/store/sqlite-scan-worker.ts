/**
 * Worker thread entry of a period scan: its own read-only connection to the database file, one
 * scanRange over its run of agents (partitionAgents), the result posted back. The main thread's event
 * loop stays free (a served collector keeps answering while an export runs), and the two halves
 * of a day run on two cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { scanRange, type ScanJob } from './sqlite-scan.js';

const { path, job } = workerData as { path: string; job: ScanJob };
let db: Database.Database | null = null;
try {
  db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -131072');
  // A sequential pass reads each page once: no memory map (it would only grow this process's
  // resident size by the pages it passed over), a modest page cache for the temporary tables.
  db.pragma('mmap_size = 0');
  const result = scanRange(db, job);
  parentPort?.postMessage({ ok: true, result }, [result.acc.buffer as ArrayBuffer, result.buckets.buffer as ArrayBuffer]);
} catch (err) {
  parentPort?.postMessage({ ok: false, message: (err as Error).message });
} finally {
  db?.close();
}
