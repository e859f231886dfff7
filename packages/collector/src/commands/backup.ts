/**
 * `clockwatch-collector backup --out FILE`: an online, consistent copy of the database through
 * SQLite's backup API (https://www.sqlite.org/backup.html, better-sqlite3's db.backup()), safe next
 * to a running `serve`:
 * - the source is opened read-only (nothing created or changed beside the live database, even as
 *   root: no -wal/-shm owned by the wrong user);
 * - WAL mode lets `serve` go on committing while the copy reads (https://www.sqlite.org/wal.html:
 *   readers do not block writers); a write by serve between two backup steps restarts the copy
 *   from its first page, so after the first step the rest is copied in one step (one read
 *   transaction: one snapshot), which cannot be restarted;
 * - the copy is written beside FILE, checked with PRAGMA integrity_check, made durable and only
 *   then renamed to FILE, so FILE is either the old file or a complete, checked copy.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_DB } from '../config.js';
import { ConfigError, helpText, nonEmpty, parseOptions, type OptionSpec } from '../options.js';
import { isPostgresUrl } from '../store/db-url.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Command } from './types.js';

const OPTIONS: readonly OptionSpec[] = [
  { key: 'db', flag: 'db', arg: 'PATH', help: 'SQLite database file (of a running serve, or not)', default: DEFAULT_DB, parse: nonEmpty },
  { key: 'out', flag: 'out', arg: 'FILE', help: 'where the copy goes (its directory must exist)', parse: nonEmpty },
  { key: 'force', flag: 'force', help: 'replace FILE if it exists', boolean: true, parse: (t) => t !== 'false' },
  { key: 'config', flag: 'config', arg: 'FILE', help: 'JSON file with any of these options', parse: nonEmpty },
];

export interface BackupResult {
  pages: number;
  bytes: number;
  samples: number;
  agents: number;
}

/** Copies `db` (already open) to `out` and checks the copy; pure of process and options. */
export async function backupDatabase(source: Database.Database, out: string): Promise<BackupResult> {
  const partial = path.join(path.dirname(out), `.${path.basename(out)}.partial-${process.pid}`);
  rmSync(partial, { force: true });
  try {
    let pages = 0;
    await source.backup(partial, {
      // Called after each step with the pages left; the number returned is the next step's size.
      // The first step is 100 pages; the rest goes in one step (see the header comment).
      progress: ({ totalPages, remainingPages }) => {
        pages = totalPages;
        return Math.max(remainingPages, 1);
      },
    });
    const copy = new Database(partial, { fileMustExist: true });
    let result: BackupResult;
    try {
      const check = copy.pragma('integrity_check') as { integrity_check: string }[];
      const verdict = check.map((r) => r.integrity_check).join('; ');
      if (verdict !== 'ok') throw new Error(`the copy failed PRAGMA integrity_check: ${verdict}`);
      const pageSize = copy.pragma('page_size', { simple: true }) as number;
      const pageCount = copy.pragma('page_count', { simple: true }) as number;
      result = {
        pages: pages || pageCount,
        bytes: pageSize * pageCount,
        samples: (copy.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n,
        agents: (copy.prepare('SELECT count(*) AS n FROM agents').get() as { n: number }).n,
      };
    } finally {
      // Closing the last connection checkpoints the copy's WAL into its file and removes -wal/-shm.
      copy.close();
    }
    fsyncPath(partial);
    renameSync(partial, out);
    fsyncPath(path.dirname(out));
    return result;
  } catch (err) {
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
    throw err;
  }
}

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const backupCommand: Command = {
  name: 'backup',
  summary: 'backup --out FILE: an online, consistent copy of the database (safe next to serve)',
  async run(io) {
    if (io.argv.includes('--help')) {
      io.out(helpText('usage: clockwatch-collector backup --out FILE [--db PATH] [--force]', OPTIONS));
      return 0;
    }
    const { values: v, sources, positionals } = parseOptions(OPTIONS, io.argv, io.env, 'config');
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}'`);
    const out = v.out as string | undefined;
    if (!out) throw new ConfigError('--out: needs a file to write the copy to');
    const db = v.db as string;
    const outAbs = path.resolve(out);
    if (outAbs === path.resolve(db)) throw new ConfigError(`${sources.out}: is the database itself`);
    if (!existsSync(path.dirname(outAbs))) throw new ConfigError(`${sources.out}: directory ${path.dirname(outAbs)} does not exist`);
    if (existsSync(outAbs) && v.force !== true) throw new ConfigError(`${sources.out}: ${out} exists (--force replaces it)`);
    // SQLite's backup API; a PostgreSQL store is backed up with PostgreSQL's own tools.
    if (isPostgresUrl(db)) throw new ConfigError(`${sources.db ?? '--db'}: backup copies a SQLite file; back up a PostgreSQL store with pg_dump or pg_basebackup`);
    if (!existsSync(db)) throw new ConfigError(`${sources.db ?? '--db'}: ${db} does not exist`);
    let store: ReturnType<typeof openSqliteStore>;
    try {
      store = openSqliteStore({ path: db, readonly: true });
    } catch (err) {
      throw new ConfigError(`${sources.db ?? '--db'}: cannot open ${db}: ${(err as Error).message}`);
    }
    try {
      const started = performance.now();
      const r = await backupDatabase(store.db, outAbs);
      io.out(
        `backup of ${db} in ${out}: ${r.samples} samples of ${r.agents} agents, ${(r.bytes / 1048576).toFixed(1)} MiB, ` +
          `integrity_check ok (${Math.round(performance.now() - started)} ms)\n`,
      );
    } finally {
      await store.close();
    }
    return 0;
  },
};
