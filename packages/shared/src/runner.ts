/**
 * How readers run external commands (chronyc, timedatectl, ntpq, virsh, ...). The real runner
 * lives at the I/O edge (agent/collector); tests inject one that replays recorded outputs.
 * Implementations must run with LC_ALL=C and TZ=UTC, enforce the timeout, and never throw:
 * a missing binary is `{ code: null, error: 'ENOENT' }`.
 */
export interface CommandResult {
  /** Exit code; null when the process could not start or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** 'ENOENT', 'EACCES', 'TIMEOUT', ... when the command did not run to completion. */
  error?: string;
}

export type CommandRunner = (command: string, args: readonly string[], options?: { timeoutMs?: number }) => Promise<CommandResult>;
