/**
 * Is the database file still the one this process opened? An open SQLite connection keeps
 * working on a file that was unlinked (POSIX keeps the inode while a descriptor is open, see
 * unlink(2)) or replaced by a rename: every commit then goes to a file nobody will ever open
 * again, while the collector answers 200. The identity of a file is its (st_dev, st_ino) pair
 * (stat(2)); comparing it with the path's current one detects both, at the cost of one stat.
 */
import { statSync } from 'node:fs';
import { ErrorCodes } from '@clockwatch/shared';

export interface FileIdentity {
  dev: number;
  ino: number;
}

/** What a store's write throws when its database file is gone (it looks before every transaction). */
export class DatabaseGoneError extends Error {
  readonly code = ErrorCodes.DB_GONE;
}

export type FileCheck = { ok: true } | { ok: false; reason: string };

export function identityOf(path: string): FileIdentity {
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino };
}

/** Compares the file now at `path` with `opened`. */
export function checkIdentity(path: string, opened: FileIdentity): FileCheck {
  let now: FileIdentity;
  try {
    now = identityOf(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `${path} was deleted` : `${path} cannot be checked (${code ?? (err as Error).message})` };
  }
  if (now.dev !== opened.dev || now.ino !== opened.ino) {
    return { ok: false, reason: `${path} was replaced by another file (inode ${opened.ino} opened, ${now.ino} there now)` };
  }
  return { ok: true };
}
