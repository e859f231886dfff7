/**
 * Clock state kept across runs, for the timer mode (`--once` every interval from a systemd timer,
 * deploy/clockwatch-agent-once.timer): a resident agent sees a step of the wall clock as the
 * wall clock (CLOCK_REALTIME) and the monotonic clock (CLOCK_MONOTONIC) advancing by different
 * amounts between two cycles (steps.ts). A process that lives for one cycle has nothing to compare
 * with, so the pair read at the end of a run is written to `clock-state.json` in the spool
 * directory and the next run compares against it.
 *
 * CLOCK_MONOTONIC counts from boot (process.hrtime: libuv's uv_hrtime) and does not advance while
 * the guest is suspended (clock_gettime(2)), so — exactly as in the resident agent — a step or a
 * suspend between two runs shows as wall − monotonic progress beyond the threshold. Across a
 * reboot the monotonic clock restarts: the kernel's boot id (/proc/sys/kernel/random/boot_id,
 * random(4)) tells, and no comparison is made. A missing, unreadable or foreign state file means
 * "no previous run": the first run after it compares nothing, and writes a good one.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClockEvent } from '@clockwatch/shared';

export const RUN_STATE_FILE = 'clock-state.json';
const VERSION = 1;

export interface RunClocks {
  /** The kernel's boot id; null where there is none (not Linux). */
  bootId: string | null;
  /** CLOCK_REALTIME, ms since the epoch. */
  wallMs: number;
  /** CLOCK_MONOTONIC, ms since boot. */
  monoMs: number;
}

export interface RunState extends RunClocks {
  version: 1;
}

/** Reads both clocks back to back (their difference is what matters, not either value). */
export function readRunClocks(readBootId: () => string | null = defaultBootId): RunClocks {
  const monoMs = Number(process.hrtime.bigint()) / 1e6;
  const wallMs = Date.now();
  return { bootId: readBootId(), wallMs, monoMs };
}

function defaultBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The previous run's state, or null (none, unreadable, or not ours). */
export function loadRunState(dir: string): { state: RunState | null; problem: string | null } {
  let text: string;
  try {
    text = readFileSync(path.join(dir, RUN_STATE_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { state: null, problem: code === 'ENOENT' ? null : `cannot read ${RUN_STATE_FILE}: ${code ?? (err as Error).message}` };
  }
  try {
    const v = JSON.parse(text) as Partial<RunState>;
    if (v.version !== VERSION || !finite(v.wallMs) || !finite(v.monoMs) || !(v.bootId === null || typeof v.bootId === 'string')) {
      return { state: null, problem: `${RUN_STATE_FILE} is not a clock state of this agent: ignored` };
    }
    return { state: { version: VERSION, bootId: v.bootId, wallMs: v.wallMs, monoMs: v.monoMs }, problem: null };
  } catch {
    return { state: null, problem: `${RUN_STATE_FILE} is not JSON: ignored` };
  }
}

/** Writes the state atomically (temp file and rename: a run killed meanwhile leaves the old one). */
export function saveRunState(dir: string, clocks: RunClocks): void {
  const state: RunState = { version: VERSION, bootId: clocks.bootId, wallMs: clocks.wallMs, monoMs: clocks.monoMs };
  const tmp = path.join(dir, `.${RUN_STATE_FILE}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    renameSync(tmp, path.join(dir, RUN_STATE_FILE));
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw err;
  }
}

/**
 * The step between the previous run and now, as the resident agent's detector would report it:
 * wall progress − monotonic progress, beyond the threshold. Null across a reboot or without a
 * previous run.
 */
export function stepSinceLastRun(prev: RunState | null, now: RunClocks, thresholdMs: number): ClockEvent | null {
  if (!prev || prev.bootId !== now.bootId || now.bootId === null) return null;
  const monoDeltaMs = now.monoMs - prev.monoMs;
  // A smaller monotonic clock on the same boot id cannot be: a copied state file. Compare nothing.
  if (monoDeltaMs < 0) return null;
  const stepMs = now.wallMs - prev.wallMs - monoDeltaMs;
  // Date.now() is whole ms, so ±1 ms is noise even at threshold 0 (as in steps.ts).
  if (Math.abs(stepMs) <= Math.max(thresholdMs, 1)) return null;
  return { kind: 'step', atMs: now.wallMs, stepMs: Number(stepMs.toFixed(3)) };
}
