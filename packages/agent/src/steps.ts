/**
 * Clock steps between cycles: the wall clock (CLOCK_REALTIME, Date.now()) and the monotonic clock
 * (CLOCK_MONOTONIC, performance.now()) advance at the same rate under slewing — clock_gettime(2):
 * CLOCK_MONOTONIC "is affected by the incremental adjustments performed by adjtime(3) and NTP" —
 * so their progress differs only when the wall clock was stepped (chrony makestep, settimeofday,
 * VM resume/migration corrections, hwclock --hctosys) or the guest was suspended (MONOTONIC does
 * not count suspend). A difference above the threshold is a step event for the next report.
 */
import type { ClockEvent } from '@clockwatch/shared';

export interface StepClocks {
  wallMs: () => number;
  monoMs: () => number;
}

// performance.now() is libuv's uv_hrtime(): CLOCK_MONOTONIC.
const defaultClocks: StepClocks = { wallMs: Date.now, monoMs: () => performance.now() };

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
  let events: ClockEvent[] = [];
  let total = 0;
  return {
    check() {
      const wall = clocks.wallMs();
      const mono = clocks.monoMs();
      const stepMs = wall - lastWall - (mono - lastMono);
      lastWall = wall;
      lastMono = mono;
      // Date.now() is whole ms, so ±1 ms is noise even at threshold 0.
      if (Math.abs(stepMs) <= Math.max(thresholdMs, 1)) return null;
      const ev: ClockEvent = { kind: 'step', atMs: wall, stepMs: Number(stepMs.toFixed(3)) };
      events.push(ev);
      total++;
      if (events.length > maxPending) events = events.slice(-maxPending);
      return ev;
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
