/**
 * One `serve` per database. Two would both start; one's caches (the fleet rows) go stale and a
 * third of the batches meet "database is locked". `serve` therefore holds an exclusive lock on a
 * small file next to the database, `<db>.serve-lock`, for as long as it runs.
 *
 * The lock is SQLite's own: the lock file is a one-table SQLite database opened with
 * `locking_mode=EXCLUSIVE` (https://www.sqlite.org/pragma.html#pragma_locking_mode), which after its
 * first write holds an exclusive POSIX advisory lock (fcntl(2) F_SETLK) until the connection
 * closes. The kernel drops such a lock when the process dies, so a `serve` killed with SIGKILL never
 * leaves a stale lock behind, and no PID file has to be guessed about. `export`, `status`, `prune`
 * and backups open the database itself, not this file, and keep working beside a running serve.
 */
import Database from 'better-sqlite3';

export class ServeLockError extends Error {
  constructor(
    readonly lockPath: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServeLockError';
  }
}

export interface ServeLock {
  readonly path: string;
  release(): void;
}

export function lockPathFor(dbPath: string): string {
  return `${dbPath}.serve-lock`;
}

/** Takes the lock or throws ServeLockError at once (no waiting). */
export function acquireServeLock(dbPath: string, info: { pid: number; startedAtMs: number }): ServeLock {
  const lockPath = lockPathFor(dbPath);
  let db: Database.Database;
  try {
    db = new Database(lockPath, { timeout: 0 });
  } catch (err) {
    throw new ServeLockError(lockPath, `cannot open the lock file ${lockPath}: ${(err as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, started_ms INTEGER NOT NULL)');
    db.transaction(() => {
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid, started_ms) VALUES (?, ?)').run(info.pid, info.startedAtMs);
    }).immediate();
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new ServeLockError(lockPath, `another clockwatch-collector serve is running on ${dbPath} (it holds ${lockPath}); stop it first, or give this one its own --db`);
    }
    throw new ServeLockError(lockPath, `cannot lock ${lockPath}: ${(err as Error).message}`);
  }
  let held = true;
  return {
    path: lockPath,
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}
