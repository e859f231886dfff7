/**
 * The export scheduler with an injected clock and timer: UTC-aligned periods, the missed period
 * exported at start, never two runs at once, stop() waiting for the run in flight, retries, and
 * the real timer not keeping the process alive.
 */
import t from 'tap';
import {
  createExportScheduler,
  lastFullPeriod,
  parseDuration,
  validateExportInterval,
  type ExportPeriod,
  type ExportSchedulerOptions,
} from '@clockwatch/collector/exports';

const H = 3_600_000;
const D = 24 * H;
const iso = (ms: number) => new Date(ms).toISOString();
const day = (s: string) => Date.parse(`${s}T00:00:00Z`);

class FakeTime {
  now: number;
  timers: { fn: () => void; at: number; id: number }[] = [];
  cleared: number[] = [];
  private seq = 0;
  constructor(start: number) {
    this.now = start;
  }
  setTimer = (fn: () => void, delayMs: number) => {
    const id = ++this.seq;
    this.timers.push({ fn, at: this.now + delayMs, id });
    return id;
  };
  clearTimer = (h: unknown) => {
    this.cleared.push(h as number);
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  /** Moves the clock to the next timer and fires it. */
  fireNext() {
    const next = this.timers.sort((a, b) => a.at - b.at).shift();
    if (!next) throw new Error('no timer armed');
    this.now = Math.max(this.now, next.at);
    next.fn();
  }
}

const settle = () => new Promise((r) => setImmediate(r));
const deferred = () => {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};

function setup(start: number, last: number | null, over: Partial<ExportSchedulerOptions> = {}) {
  const time = new FakeTime(start);
  const runs: { period: ExportPeriod; reason: string }[] = [];
  let stored = last;
  const s = createExportScheduler({
    everyMs: D,
    settleMs: 30_000,
    now: () => time.now,
    lastCompletedPeriodEnd: async () => stored,
    run: async (period, info) => {
      runs.push({ period, reason: info.reason });
      stored = period.toMs;
    },
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
    ...over,
  });
  return { s, time, runs };
}

t.test('durations', async (t) => {
  t.equal(parseDuration('24h'), D);
  t.equal(parseDuration('1h'), H);
  t.equal(parseDuration('30m'), 1_800_000);
  t.equal(parseDuration('7d'), 7 * D);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration(' 90s '), 90_000);
  for (const bad of ['', '24', 'h', '1.5h', '-1h', '24x', '0h', '1 h', 'PT1H', '99999999999d']) {
    t.throws(() => parseDuration(bad, '--export-every'), { code: 'CW_ERR_CONFIG_INVALID', message: /^--export-every: '.*' is not a duration: write a whole number and a unit/ }, `refuses '${bad}'`);
  }
  t.equal(validateExportInterval(6 * H), 6 * H);
  t.equal(validateExportInterval(2 * D), 2 * D);
  t.throws(() => validateExportInterval(7 * H), { message: /--export-every: 25200000 ms neither divides a day/ });
  t.throws(() => validateExportInterval(30_000), { message: /outside 1m\.\.366d/ });
});

t.test('periods are aligned to UTC', async (t) => {
  const now = Date.parse('2026-11-25T10:17:00Z');
  t.same(lastFullPeriod(now, D), { fromMs: day('2026-11-24'), toMs: day('2026-11-25') }, '24h: the last full UTC day');
  t.same(lastFullPeriod(now, H), { fromMs: Date.parse('2026-11-25T09:00:00Z'), toMs: Date.parse('2026-11-25T10:00:00Z') });
  const week = lastFullPeriod(now, 7 * D);
  t.equal(new Date(week.fromMs).getUTCDay(), 1, 'weeks start on Monday');
  t.equal(iso(week.fromMs), '2026-11-16T00:00:00.000Z');
  t.same(lastFullPeriod(day('2026-11-25'), D), { fromMs: day('2026-11-24'), toMs: day('2026-11-25') }, 'on the boundary the just-ended day is full');
});

t.test('first start: the last full period, then the next one on time', async (t) => {
  const { s, time, runs } = setup(Date.parse('2026-11-25T10:00:00Z'), null);
  await s.start();
  t.same(runs.map((r) => [iso(r.period.fromMs), r.reason]), [['2026-11-24T00:00:00.000Z', 'catch-up']]);
  t.equal(iso(s.nextRunAtMs as number), '2026-11-26T00:00:30.000Z', 'the next day, once settled');
  time.fireNext();
  await settle();
  await settle();
  t.same(runs.map((r) => [iso(r.period.fromMs), r.reason]), [['2026-11-24T00:00:00.000Z', 'catch-up'], ['2026-11-25T00:00:00.000Z', 'scheduled']]);
  t.equal(iso(s.nextRunAtMs as number), '2026-11-27T00:00:30.000Z');
  await s.stop();
});

t.test('periods missed while the collector was down are exported at start, oldest first', async (t) => {
  const { s, runs } = setup(Date.parse('2026-11-25T10:00:00Z'), day('2026-11-22'));
  await s.start();
  t.same(runs.map((r) => iso(r.period.fromMs)), ['2026-11-22T00:00:00.000Z', '2026-11-23T00:00:00.000Z', '2026-11-24T00:00:00.000Z']);
  t.ok(runs.every((r) => r.reason === 'catch-up'));
  await s.stop();
});

t.test('up to date: nothing at start; a period still settling waits', async (t) => {
  const { s, time, runs } = setup(Date.parse('2026-11-25T00:00:10Z'), day('2026-11-24'));
  await s.start();
  t.same(runs, [], 'day 24 has ended 10 s ago: not settled yet');
  t.equal(iso(s.nextRunAtMs as number), '2026-11-25T00:00:30.000Z');
  time.fireNext();
  await settle();
  await settle();
  t.same(runs.map((r) => iso(r.period.fromMs)), ['2026-11-24T00:00:00.000Z']);
  await s.stop();
});

t.test('a long outage: only the newest maxCatchUp periods', async (t) => {
  const skipped: ExportPeriod[][] = [];
  const { s, runs } = setup(Date.parse('2026-11-25T10:00:00Z'), day('2026-11-10'), { maxCatchUp: 3, onSkipped: (p) => skipped.push(p) });
  await s.start();
  t.same(runs.map((r) => iso(r.period.fromMs).slice(0, 10)), ['2026-11-22', '2026-11-23', '2026-11-24']);
  t.equal(skipped[0]?.length, 12);
  t.equal(iso(skipped[0]![0]!.fromMs).slice(0, 10), '2026-11-10');
  await s.stop();
});

t.test('never two runs at once', async (t) => {
  const time = new FakeTime(Date.parse('2026-11-25T10:00:00Z'));
  let active = 0;
  let maxActive = 0;
  const gates: ReturnType<typeof deferred>[] = [];
  const order: string[] = [];
  const s = createExportScheduler({
    everyMs: D,
    now: () => time.now,
    lastCompletedPeriodEnd: async () => day('2026-11-25'), // up to date: start() runs nothing
    run: async (p, info) => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(`${info.reason}:${iso(p.fromMs).slice(0, 10)}`);
      const g = deferred();
      gates.push(g);
      await g.promise;
      active--;
    },
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  await s.start();
  const a = s.runNow();
  const b = s.runNow({ fromMs: day('2026-11-20'), toMs: day('2026-11-21') });
  await settle();
  t.equal(s.running, true);
  t.equal(gates.length, 1, 'the second waits for the first');
  time.now = Date.parse('2026-11-26T00:01:00Z');
  time.fireNext(); // the daily timer fires while a run is in flight
  await settle();
  t.equal(gates.length, 1, 'and so does the timer');
  while (gates.length < 3) {
    gates[gates.length - 1]!.resolve();
    await settle();
    await settle();
  }
  gates[2]!.resolve();
  await Promise.all([a, b]);
  await settle();
  t.equal(maxActive, 1);
  t.same(order, ['manual:2026-11-24', 'manual:2026-11-20', 'scheduled:2026-11-25']);
  await s.stop();
});

t.test('stop() waits for the run in flight and drops what is queued', async (t) => {
  const time = new FakeTime(Date.parse('2026-11-25T10:00:00Z'));
  const gate = deferred();
  let finished = false;
  let calls = 0;
  const s = createExportScheduler({
    everyMs: D,
    now: () => time.now,
    lastCompletedPeriodEnd: async () => null,
    run: async () => {
      calls++;
      await gate.promise;
      finished = true;
    },
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  const started = s.start();
  await settle();
  t.equal(s.running, true);
  let stopped = false;
  const stopping = s.stop().then(() => {
    stopped = true;
  });
  await settle();
  t.equal(stopped, false, 'still waiting for the run');
  gate.resolve();
  await stopping;
  await started;
  t.equal(finished, true, 'the run completed before stop() resolved');
  t.equal(stopped, true);
  t.equal(time.timers.length, 0, 'no timer armed after stop');
  t.equal(calls, 1);
  await t.rejects(s.runNow(), /stopped/);
});

t.test('a failed run is retried, and the period is not lost', async (t) => {
  const time = new FakeTime(Date.parse('2026-11-25T10:00:00Z'));
  const errors: [string, string | null][] = [];
  let fail = true;
  const done: string[] = [];
  let stored: number | null = day('2026-11-23');
  const s = createExportScheduler({
    everyMs: D,
    retryMs: 5 * 60_000,
    now: () => time.now,
    lastCompletedPeriodEnd: async () => stored,
    run: async (p) => {
      if (fail) throw new Error('disk full');
      done.push(iso(p.fromMs).slice(0, 10));
      stored = p.toMs;
    },
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
    onError: (e, p) => errors.push([(e as Error).message, p ? iso(p.fromMs).slice(0, 10) : null]),
  });
  await s.start();
  t.same(errors, [['disk full', '2026-11-23']], 'stops at the first failure, oldest first');
  t.equal(iso(s.nextRunAtMs as number), '2026-11-25T10:05:00.000Z', 'retry in 5 minutes, not tomorrow');
  fail = false;
  time.fireNext();
  await settle();
  await settle();
  await settle();
  t.same(done, ['2026-11-23', '2026-11-24']);
  t.equal(iso(s.nextRunAtMs as number), '2026-11-26T00:00:30.000Z');
  await s.stop();
});

t.test('a store that cannot say what was exported is an error, then a retry', async (t) => {
  const time = new FakeTime(Date.parse('2026-11-25T10:00:00Z'));
  const errors: unknown[] = [];
  const s = createExportScheduler({
    everyMs: D,
    now: () => time.now,
    lastCompletedPeriodEnd: async () => {
      throw new Error('database is locked');
    },
    run: async () => undefined,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
    onError: (e) => errors.push(e),
  });
  await s.start();
  t.equal(errors.length, 1);
  t.ok((s.nextRunAtMs as number) - time.now <= 600_000);
  await s.stop();
});

t.test('long periods: the timer delay never exceeds what setTimeout accepts', async (t) => {
  const { s, time } = setup(Date.parse('2026-11-25T10:00:00Z'), null, { everyMs: 30 * D });
  await s.start();
  const delay = (time.timers[0]?.at as number) - time.now;
  t.ok(delay <= 2 ** 31 - 1, `delay ${delay}`);
  await s.stop();
});

t.test('the real timer is unref\'ed: it does not keep the process alive', async (t) => {
  const count = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = count();
  const s = createExportScheduler({ everyMs: D, now: () => Date.now(), lastCompletedPeriodEnd: async () => Date.now(), run: async () => undefined });
  await s.start();
  t.ok(s.nextRunAtMs !== null, 'armed');
  t.equal(count(), before, 'no new ref\'ed timer');
  await s.stop();
});
