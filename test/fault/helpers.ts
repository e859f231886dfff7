/**
 * Helpers of the fault tests: the real collector CLI and the real agent CLI as child processes
 * (ports 127.0.0.1:0, the bound port read from the collector's "listening" log line), the
 * database read directly with better-sqlite3, and bounded waits. Every child is killed when the
 * test ends, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import Database from 'better-sqlite3';
/**
 * The collector under test. CW_FAULT_COLLECTOR_CLI points the fault tests at another build — how
 * one checks that they fail against a collector with durability or idempotency broken on purpose
 * (scripts/make-broken-collector.mjs builds two such copies). Paths from test/helpers/paths.ts.
 */
export { agentCli, collectorCli, fixtureRoot } from '../helpers/paths.js';
import { agentCli, collectorCli } from '../helpers/paths.js';
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/** PATH only: nothing CLOCKWATCH_*, no faketime, from the test runner. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra };
}

export interface Child {
  child: ChildProcess;
  pid: number;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive: () => boolean;
  kill: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function track(t: Test, child: ChildProcess): Child {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  t.teardown(async () => {
    if (alive()) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    pid: child.pid as number,
    out: () => out,
    exited,
    alive,
    kill: async (signal = 'SIGTERM') => {
      if (alive()) child.kill(signal);
      return exited;
    },
  };
}

export interface Collector extends Child {
  url: string;
  port: number;
}

/**
 * Starts `clockwatch-collector serve` on `--listen 127.0.0.1:<port>` (0: any) and resolves once its
 * listening line names the URL. `env` adds to a clean environment (e.g. LD_PRELOAD for faketime).
 */
export async function startCollector(t: Test, o: { db: string; port?: number; args?: string[]; env?: Record<string, string> }): Promise<Collector> {
  const child = spawn(process.execPath, [collectorCli, 'serve', '--listen', `127.0.0.1:${o.port ?? 0}`, '--db', o.db, '--log-level', 'info', ...(o.args ?? [])], {
    env: baseEnv(o.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c = track(t, child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${c.out()}`)), 20_000);
    const look = () => {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(c.out());
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', look);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', look);
    void c.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code ?? signal}) before listening:\n${c.out()}`));
    });
  });
  return { ...c, url, port: Number(new URL(url).port) };
}

/** Restarts on the same port (the agent's --collector URL), retrying while the port is still held. */
export async function restartCollector(t: Test, o: { db: string; port: number; args?: string[]; env?: Record<string, string> }): Promise<Collector> {
  for (let i = 0; ; i++) {
    try {
      return await startCollector(t, o);
    } catch (err) {
      if (i >= 20 || !/EADDRINUSE/.test(String(err))) throw err;
      await sleep(250);
    }
  }
}

/** Starts the agent CLI (run-forever mode unless args say --once). */
export function startAgent(t: Test, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [agentCli, ...args], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  return track(t, child);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until it holds; throws after `ms` with `what`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A read-only look at the database file (WAL: safe next to a running collector). */
export function readDb<T>(db: string, fn: (conn: Database.Database) => T): T {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return fn(conn);
  } finally {
    conn.close();
  }
}

export interface SampleRow {
  reportId: string;
  agentId: string;
  seq: number;
}

/** Every stored sample, per agent in measurement order (the table's key: agent, host time, then arrival). */
export function samplesOf(db: string, agentId?: string): SampleRow[] {
  return readDb(db, (c) =>
    c
      .prepare(
        `SELECT s.report_id AS reportId, a.agent_id AS agentId, s.seq FROM samples s JOIN agents a USING (agent_key)
         ${agentId ? 'WHERE a.agent_id = ?' : ''} ORDER BY s.agent_key, s.at_ms, s.tie`,
      )
      .all(...(agentId ? [agentId] : [])) as SampleRow[],
  );
}

/**
 * Runs a collector command to its end (killed after `ms`: a command that should have exited at
 * once, such as a second serve refused by the lock, shows as code null rather than a hang).
 */
export function cli(args: string[], ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [collectorCli, ...args], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), ms);
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Report files waiting in an agent's spool. */
export function spooled(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /^\d{12}-.*\.json$/.test(f));
  } catch {
    return [];
  }
}
