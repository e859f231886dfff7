/**
 * The collector CLI as the tests run it: one-shot commands (runCli, runCliAsync) and a served
 * collector on 127.0.0.1:0 (serve: resolved once it logs its URL; stop, or signal it), and a
 * bounded wait (until).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { collectorCli as cli } from './paths.js';

export { cli };

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });

export function runCli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...baseEnv(), ...env }, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...baseEnv(), ...env }, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Served {
  url: string;
  /** stdout and stderr so far. */
  logs: () => string;
  /** stderr so far (a clean start writes nothing there). */
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  /** Sends a signal without waiting for the exit (SIGHUP: reload). */
  signal: (signal: NodeJS.Signals) => void;
}

/** `clockwatch-collector serve --listen 127.0.0.1:0 ...`, resolved once it logs its URL. */
export function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0', '--host-ntp-refresh', '1h', ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${out}${err}`)), 90_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(https?:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1] as string,
          logs: () => out + err,
          stderr: () => err,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
          signal: (signal) => void child.kill(signal),
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited ${code}:\n${out}${err}`));
    });
  });
}

/** Polls `check` until it returns a value (not undefined), or fails after `ms`. */
export async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

