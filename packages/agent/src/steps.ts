/**
 * Clock steps between cycles: the wall clock (CLOCK_REALTIME, Date.now()) and the monotonic clock
 * (CLOCK_MONOTONIC, performance.now()) advance at the same rate under slewing — clock_gettime(2):
 * CLOCK_MONOTONIC "is affected by the incremental adjustments performed by adjtime(3) and NTP" —
 * so their progress differs only when the wall clock was stepped (chrony makestep, settimeofday,
 * VM resume/migration corrections, hwclock --hctosys) or the guest was suspended (MONOTONIC does
 * not count suspend). A difference above the threshold is an event for the next report.
 *
 * Suspend vs step: CLOCK_BOOTTIME "is identical to CLOCK_MONOTONIC, except that it also includes
 * any time that the system is suspended" (clock_gettime(2)); /proc/uptime is CLOCK_BOOTTIME
 * (fs/proc/uptime.c, ktime_get_boottime_ts64), at 10 ms resolution. So over one interval
 *   suspended = boot − mono,  stepped = (wall − mono) − suspended,
 * and a suspend (the wall clock moved with the boot clock) is reported as "suspended for N s",
 * apart from a step ("stepped by N s"); both are reported when both happened.
 */
import { readFileSync } from 'node:fs';
import type { ClockEvent } from '@clockwatch/shared';

export interface StepClocks {
  wallMs: () => number;
  monoMs: () => number;
  /** CLOCK_BOOTTIME, ms (null when it cannot be read: not Linux). */
  bootMs?: () => number | null;
}

/** /proc/uptime's first field (s, 2 decimals) → ms; null when unreadable. */
export function procUptimeMs(): number | null {
  try {
    const v = Number(readFileSync('/proc/uptime', 'utf8').split(/\s+/)[0]);
    return Number.isFinite(v) ? v * 1000 : null;
  } catch {
    return null;
  }
}

// performance.now() is libuv's uv_hrtime(): CLOCK_MONOTONIC.
const defaultClocks: StepClocks = { wallMs: Date.now, monoMs: () => performance.now(), bootMs: procUptimeMs };

/** /proc/uptime has 10 ms resolution: two readings are good to 20 ms. */
const BOOT_RESOLUTION_MS = 20;

export interface StepDetector {
  /** Compares progress since the last check; returns the step seen, if any, and records it. */
  check(): ClockEvent | null;
  /** Steps not yet taken into a report (bounded: the oldest go first). */
  take(): ClockEvent[];
  /** The same, without taking them (pull endpoint). */
  peek(): ClockEvent[];
  /** Steps seen since start. */
  total(): number;
  pending(): number;
}

export function createStepDetector(thresholdMs = 1000, clocks: StepClocks = defaultClocks, maxPending = 256): StepDetector {
  let lastWall = clocks.wallMs();
  let lastMono = clocks.monoMs();
  let lastBoot = clocks.bootMs?.() ?? null;
  let events: ClockEvent[] = [];
  let total = 0;
  const push = (ev: ClockEvent) => {
    events.push(ev);
    total++;
    if (events.length > maxPending) events = events.slice(-maxPending);
  };
  return {
    check() {
      const wall = clocks.wallMs();
      const mono = clocks.monoMs();
      const boot = clocks.bootMs?.() ?? null;
      const jumpMs = wall - lastWall - (mono - lastMono);
      const suspendedMs = boot !== null && lastBoot !== null ? Math.max(0, boot - lastBoot - (mono - lastMono)) : 0;
      lastWall = wall;
      lastMono = mono;
      lastBoot = boot;
      // Date.now() is whole ms, so ±1 ms is noise even at threshold 0.
      const limit = Math.max(thresholdMs, 1);
      const suspended = suspendedMs > Math.max(limit, BOOT_RESOLUTION_MS);
      const stepMs = suspended ? jumpMs - suspendedMs : jumpMs;
      let first: ClockEvent | null = null;
      if (suspended) {
        first = { kind: 'step', atMs: wall, stepMs: Number(suspendedMs.toFixed(3)), cause: 'suspend', suspendedMs: Number(suspendedMs.toFixed(3)) };
        push(first);
      }
      if (Math.abs(stepMs) > (suspended ? Math.max(limit, BOOT_RESOLUTION_MS) : limit)) {
        const ev: ClockEvent = { kind: 'step', atMs: wall, stepMs: Number(stepMs.toFixed(3)), cause: 'step' };
        push(ev);
        first ??= ev;
      }
      return first;
    },
    take() {
      const out = events;
      events = [];
      return out;
    },
    peek: () => [...events],
    total: () => total,
    pending: () => events.length,
  };
}
