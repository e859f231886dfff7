/**
 * What every reader gets: the filesystem root all paths live under (node_exporter's
 * --path.rootfs), the command runner, the environment and the clock. Nothing here reads
 * `process`: the CLI passes those in.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, type ErrorInfo } from '@clockwatch/shared';
import type { NtpReaderContext } from '@clockwatch/shared/node';

export type { ChronycTarget } from '@clockwatch/shared/node';

/** The NTP readers' context (root, runner, env, clock, chronyc target, daemon cache) plus the agent's own caches. */
export interface ReaderContext extends NtpReaderContext {
  /** Timezone facts of the last read, reused while the files are unchanged (readers/timezone.ts). */
  timezoneCache?: import('./readers/timezone.js').TimezoneCache;
  /** The invariant-TSC flag of /proc/cpuinfo, read once (readers/clocksource.ts). */
  cpuCache?: import('./readers/clocksource.js').CpuFlagsCache;
  /**
   * Which OS the readers describe, as os.platform() names it: 'win32' selects the Windows readers
   * (readers/windows/), anything else the Linux ones. Passed in by the CLI, never read here.
   */
  platform?: string;
  /** systeminformation, or recorded answers in tests (readers/windows/inventory.ts). */
  sysinfo?: () => Promise<import('./readers/windows/inventory.js').SystemInfoSource>;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

/** The host path of a guest path: `/etc/adjtime` under root `/mnt/guest` is `/mnt/guest/etc/adjtime`. */
export function underRoot(root: string, guestPath: string): string {
  return path.join(root, guestPath);
}

export type ReadResult = { ok: true; text: string } | { ok: false; error: ErrorInfo; errno: string | undefined };

/** Maps a filesystem error to a stable code, naming the guest path (never the host join). */
export function fsErrorInfo(err: unknown, guestPath: string): ErrorInfo {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { code: ErrorCodes.NOT_FOUND, message: `${guestPath} does not exist` };
  if (code === 'EACCES' || code === 'EPERM') return { code: ErrorCodes.PERMISSION, message: `${guestPath}: permission denied` };
  const msg = err instanceof Error ? err.message.replace(/^[A-Z]+: /, '') : String(err);
  return { code: ErrorCodes.READ, message: `${guestPath}: ${code ?? 'read failed'} (${msg})`.slice(0, 2000) };
}

export async function readText(root: string, guestPath: string): Promise<ReadResult> {
  try {
    // Synchronous on purpose: /proc, /sys and /etc files are in memory or page cache, and a sync
    // read costs a fraction of the CPU of fs/promises (no thread-pool hop); the agent's budget is a
    // few ms per cycle.
    return { ok: true, text: readFileSync(underRoot(root, guestPath), 'utf8') };
  } catch (err) {
    return { ok: false, error: fsErrorInfo(err, guestPath), errno: (err as NodeJS.ErrnoException).code };
  }
}

/** Reads a file and trims it; null when it cannot be read (for optional hints). */
export async function readOptional(root: string, guestPath: string): Promise<string | null> {
  const r = await readText(root, guestPath);
  return r.ok ? r.text.trim() : null;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
