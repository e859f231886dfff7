/**
 * The real command runner (child_process.execFile, no shell) and a replaying one for recorded
 * outputs (telegraf style). Both follow the CommandRunner contract of @clockwatch/shared: the
 * command runs with LC_ALL=C and TZ=UTC so its output can be machine-parsed (domain.md §11.9),
 * under a timeout, and the runner never throws — a missing binary is { code: null, error: 'ENOENT' }.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandResult, CommandRunner } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './context.js';

export interface CommandRunnerOptions {
  /** PATH for the children; default the usual system directories. */
  path?: string;
  defaultTimeoutMs?: number;
  /** Output beyond this is an error: chronyc/ntpq print a few KiB at most. */
  maxBufferBytes?: number;
  /** Called for every process started (the agent counts spawns per cycle). */
  onSpawn?: (command: string, args: readonly string[]) => void;
  /** Variables added to the children's minimal environment (Windows: SystemRoot). */
  env?: Record<string, string> | undefined;
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
  // A fresh, minimal environment: nothing of the agent's (tokens, LD_PRELOAD) leaks to children.
  const env = { ...options.env, PATH: options.path ?? SYSTEM_PATH, LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
  const maxBuffer = options.maxBufferBytes ?? 1024 * 1024;
  return (command, args, opts) =>
    new Promise<CommandResult>((resolve) => {
      const timeout = opts?.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      try {
        options.onSpawn?.(command, args);
        execFile(
          command,
          [...args],
          { env, timeout, killSignal: 'SIGKILL', maxBuffer, encoding: 'utf8', windowsHide: true },
          (err: ExecFileException | null, stdout: string, stderr: string) => {
            if (!err) return resolve({ code: 0, stdout, stderr });
            if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
            if (err.killed && err.signal === 'SIGKILL') return resolve({ code: null, stdout, stderr, error: 'TIMEOUT' });
            if (typeof err.code === 'string') {
              const error = err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' ? 'MAXBUFFER' : err.code;
              return resolve({ code: null, stdout: stdout ?? '', stderr: stderr ?? '', error });
            }
            resolve({ code: null, stdout: stdout ?? '', stderr: stderr ?? '', error: err.signal ? `SIGNAL ${err.signal}` : 'FAILED' });
          },
        );
      } catch (err) {
        resolve({ code: null, stdout: '', stderr: '', error: (err as NodeJS.ErrnoException).code ?? 'FAILED' });
      }
    });
}

/** File name of a recorded command: `chronyc -c -m tracking sources` → `chronyc_-c_-m_tracking_sources`. */
export function recordingName(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ').replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Replays recorded outputs from a directory: `<name>.out` is stdout, `<name>.err` stderr and
 * `<name>.code` the exit code (a number, or an error such as ENOENT/TIMEOUT; default 0).
 * A command with no recording behaves like a binary that is not installed.
 */
export function createReplayRunner(dir: string, onSpawn?: (command: string, args: readonly string[]) => void): CommandRunner {
  const read = (file: string): string | null => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return null;
    }
  };
  return async (command, args) => {
    onSpawn?.(command, args);
    const name = recordingName(command, args);
    const stdout = read(`${name}.out`);
    const stderr = read(`${name}.err`) ?? '';
    const codeText = read(`${name}.code`)?.trim();
    if (stdout === null && codeText === undefined) return { code: null, stdout: '', stderr: '', error: 'ENOENT' };
    if (codeText !== undefined && !/^-?\d+$/.test(codeText)) return { code: null, stdout: stdout ?? '', stderr, error: codeText };
    return { code: codeText === undefined ? 0 : Number(codeText), stdout: stdout ?? '', stderr };
  };
}
