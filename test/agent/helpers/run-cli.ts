import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath } from './paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child agent: nothing CLOCKWATCH_* leaks in from the test runner. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CLOCKWATCH_') && k !== 'TZ' && k !== 'STATE_DIRECTORY') env[k] = v;
  return { ...env, ...extra };
}

export function startCli(args: readonly string[], opts: { env?: Record<string, string>; command?: readonly string[] } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const cmd = opts.command ?? [];
  const [bin, ...pre] = cmd.length ? cmd : [process.execPath];
  const child = spawn(bin!, [...pre, ...(cmd.length ? [process.execPath] : []), cliPath, ...args], { env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: readonly string[], opts: { env?: Record<string, string>; command?: readonly string[]; timeoutMs?: number } = {}): Promise<CliResult> {
  const { child, done } = startCli(args, opts);
  const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  return done.finally(() => clearTimeout(t));
}
