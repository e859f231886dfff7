/**
 * What the host-NTP readers need (a minimal equivalent of the agent's ReaderContext, which
 * extends this one): the filesystem root every path lives under, the command runner, the clock,
 * where chronyc finds chronyd, and the daemon cache of a long-running reader.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandRunner, NtpInfo } from '@clockwatch/shared';
import type { DaemonCache } from './ntp.js';
import { cacheable, type FileCache } from './file-cache.js';

export interface ChronycTarget {
  /** chronyc -h: host of chronyd's command port (default: chronyc's own choice, socket then 127.0.0.1). */
  host?: string;
  /** chronyc -p: chronyd's command port (default 323). */
  port?: number;
}

export interface NtpReaderContext {
  root: string;
  run: CommandRunner;
  env?: Record<string, string | undefined>;
  nowMs?: () => number;
  /** Where chronyc finds chronyd (tests run a private chronyd on a free port). */
  chrony?: ChronycTarget;
  /** Timeout of one external command, ms. */
  commandTimeoutMs?: number;
  /** Which NTP daemon ran last time (ntp.ts); a long-running reader keeps one. */
  daemonCache?: DaemonCache;
  /** Crontabs, timer units and pid files unchanged since the last cycle (file-cache.ts); a long-running reader keeps one. */
  fileCache?: FileCache;
}

/** The host path of a guest path: `/run/chronyd.pid` under root `/mnt/guest` is `/mnt/guest/run/chronyd.pid`. */
export function underRoot(root: string, guestPath: string): string {
  return path.join(root, guestPath);
}

/** Reads a file and trims it; null when it cannot be read (pid files, /proc/<pid>/comm). */
export async function readOptional(root: string, guestPath: string): Promise<string | null> {
  try {
    // Synchronous on purpose: /proc and /run files are in memory; no thread-pool hop.
    return readFileSync(underRoot(root, guestPath), 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * readOptional through a FileCache when there is one (and the path is not in /proc, /sys or /dev,
 * whose stat says nothing of their content): the same answer, from memory while the file is unchanged.
 */
export function readOptionalCached(root: string, guestPath: string, cache: FileCache | undefined): string | null {
  if (!cache || !cacheable(guestPath)) {
    try {
      return readFileSync(underRoot(root, guestPath), 'utf8').trim();
    } catch {
      return null;
    }
  }
  return cache.derive(cache.hostPath(root, guestPath), 'trim', (t) => (t === null ? null : t.trim()));
}

/**
 * The NTP state of `daemon` when none of its figures was read: every one null, with why
 * (`statusError`) or what was found instead (`oneShot`, a poll interval) in `rest`.
 */
export function unreadNtp(daemon: string, rest: Partial<NtpInfo> = {}): NtpInfo {
  return { daemon, synchronized: null, server: null, stratum: null, offsetMs: null, lastSyncAgeS: null, pollIntervalS: null, maxErrorMs: null, ...rest };
}
