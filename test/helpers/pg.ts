/**
 * A private PostgreSQL cluster for tests: Debian's postgresql binaries, `initdb` + `pg_ctl` in a
 * temporary directory, listening only on a Unix socket there (no TCP). `.ci/run` starts one for the
 * whole run and exports CLOCKWATCH_TEST_PG (an admin URL); without it, the first test file that
 * asks starts its own and stops it when the process exits. Each test gets a fresh database.
 *
 * PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Test } from 'tap';
import { openPostgresStore, type PostgresStore } from '@clockwatch/collector';

/** The directory of initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function pgBinDir(): string | null {
  if (process.env.PG_BIN && existsSync(path.join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(base, versions[0], 'bin');
  }
  return null;
}

export interface Cluster {
  /** Admin URL (database postgres). */
  url: string;
  socketDir: string;
  /** Stops the server, keeping its data (an outage). */
  pause(): void;
  /** Starts it again on the same socket. */
  resume(): void;
  stop(): void;
}

function asPostgres(cmd: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  if (root) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  else execFileSync(cmd, args, { stdio: 'pipe' });
}

/** Starts a cluster in a fresh temp dir. */
export function startCluster(): Cluster {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found (install Debian package postgresql)');
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    chmodSync(dir, 0o755);
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  }
  asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  // listen_addresses='' : Unix socket only; fsync stays on (the kill -9 tests rely on it).
  const start = () =>
    asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', path.join(dir, 'log'), '-o', `-c listen_addresses='' -c unix_socket_directories='${dir}' -c max_connections=200`, 'start']);
  start();
  let stopped = false;
  return {
    pause: () => asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']),
    resume: start,
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    socketDir: dir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let own: Cluster | null = null;

/** The admin URL of the run's cluster (CLOCKWATCH_TEST_PG) or of one this process started; null when PostgreSQL is not installed. */
export function clusterUrl(): string | null {
  if (process.env.CLOCKWATCH_TEST_PG) return process.env.CLOCKWATCH_TEST_PG;
  if (!own) {
    if (!pgBinDir()) return null;
    own = startCluster();
    process.on('exit', () => own?.stop());
  }
  return own.url;
}

/** Whether tests must find PostgreSQL (CI): then a missing server fails instead of skipping. */
export const pgRequired = process.env.CI === 'true' || process.env.CLOCKWATCH_TEST_PG !== undefined;

/**
 * The run's cluster (clusterUrl), or null after saying why there is none: a failure where the
 * tests must find PostgreSQL (CI), a skip comment elsewhere.
 */
export function clusterOrSkip(t: Test): string | null {
  const url = clusterUrl();
  if (url) return url;
  if (pgRequired) t.fail('PostgreSQL is required here (CI) but its server binaries are missing');
  else t.comment('skip: PostgreSQL server binaries not installed (Debian package postgresql)');
  return null;
}

/** A fresh, empty database on the cluster, dropped when the test ends. */
export async function freshDatabase(t: Test, adminUrl: string): Promise<string> {
  const name = `cw_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await c.end();
  });
  return withDatabase(adminUrl, name);
}

/** The same URL with another database name. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Every stored sample of a PostgreSQL store (report id, agent id, seq), in seq order: what the fault tests count. */
export async function reportIdsIn(url: string): Promise<{ reportId: string; agentId: string; seq: number }[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('SELECT s.report_id AS "reportId", a.agent_id AS "agentId", s.seq::int AS seq FROM samples s JOIN agents a USING (agent_key) ORDER BY s.seq');
    return r.rows;
  } finally {
    await c.end();
  }
}

/**
 * Two collectors (host-a, host-b) sharing one fresh database, closed when the test ends: the
 * many-hosts-one-fleet set-up several tests start from.
 */
export async function twoCollectors(t: Test, adminUrl: string): Promise<{ url: string; a: PostgresStore; b: PostgresStore }> {
  const url = await freshDatabase(t, adminUrl);
  const a = await openPostgresStore({ url, collector: 'host-a' });
  const b = await openPostgresStore({ url, collector: 'host-b' });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  return { url, a, b };
}
