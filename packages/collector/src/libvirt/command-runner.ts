/**
 * The collector's CommandRunner (contract in packages/shared/src/runner.ts), used for virsh:
 * execFile without a shell, a fresh minimal environment (nothing of the collector's — tokens,
 * signing-key paths — leaks to children), LC_ALL=C and TZ=UTC so that output is machine-parseable,
 * a timeout, a bounded output buffer, and no throw: a failure is data
 * ({ code: null, error: 'ENOENT' | 'EACCES' | 'TIMEOUT' | 'MAXBUFFER' | 'SIGNAL:...' }).
 */
import { execFile } from 'node:child_process';
import type { CommandResult, CommandRunner } from '@clockwatch/shared';

export interface ExecRunnerOptions {
  /** Default per-command timeout, ms. */
  timeoutMs?: number;
  /** stdout/stderr bound, bytes (a domain XML is tens of kB; 8 MiB is generous). */
  maxBufferBytes?: number;
  /** Environment of the children; default only PATH (the usual system directories). LC_ALL and TZ are always set. */
  env?: Record<string, string>;
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function createExecFileRunner(options: ExecRunnerOptions = {}): CommandRunner {
  const maxBuffer = options.maxBufferBytes ?? 8 * 1024 * 1024;
  return (command, args, opts) =>
    new Promise<CommandResult>((resolve) => {
      const timeout = opts?.timeoutMs ?? options.timeoutMs ?? 15_000;
      try {
        execFile(
          command,
          [...args],
          { env: { ...(options.env ?? { PATH: SYSTEM_PATH }), LC_ALL: 'C', LANG: 'C', TZ: 'UTC' }, timeout, killSignal: 'SIGKILL', maxBuffer, windowsHide: true, encoding: 'utf8' },
          (err, stdout, stderr) => {
            if (!err) return resolve({ code: 0, stdout, stderr });
            const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string | null };
            if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
            if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return resolve({ code: null, stdout, stderr, error: 'MAXBUFFER' });
            if (e.killed && e.signal) return resolve({ code: null, stdout, stderr, error: 'TIMEOUT' });
            if (e.signal) return resolve({ code: null, stdout, stderr, error: `SIGNAL:${e.signal}` });
            resolve({ code: null, stdout: stdout ?? '', stderr: stderr ?? '', error: typeof e.code === 'string' ? e.code : e.message });
          },
        );
      } catch (e) {
        resolve({ code: null, stdout: '', stderr: '', error: (e as Error).message });
      }
    });
}
