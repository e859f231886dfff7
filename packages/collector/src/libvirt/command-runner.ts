/**
 * The collector's CommandRunner for virsh: the shared runner (@clockwatch/shared/node) with
 * virsh's bounds — a 15 s timeout and an 8 MiB output bound (a domain XML is tens of kB).
 */
import type { CommandRunner } from '@clockwatch/shared';
import { createCommandRunner } from '@clockwatch/shared/node';

export interface ExecRunnerOptions {
  /** Default per-command timeout, ms. */
  timeoutMs?: number;
  /** stdout/stderr bound, bytes. */
  maxBufferBytes?: number;
  /** Environment of the children; default only PATH (the usual system directories). LC_ALL and TZ are always set. */
  env?: Record<string, string>;
}

export function createExecFileRunner(options: ExecRunnerOptions = {}): CommandRunner {
  return createCommandRunner({
    ...(options.env ? { env: options.env } : {}),
    defaultTimeoutMs: options.timeoutMs ?? 15_000,
    maxBufferBytes: options.maxBufferBytes ?? 8 * 1024 * 1024,
  });
}
