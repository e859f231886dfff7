import t from 'tap';
import { AnchoredWallClock, createStepDetector, takeAnchor } from '@clockwatch/agent';

/** A simulated machine: true wall time = T0 + elapsed; every clock read costs `costMs`. */
function simulated(t0: number, costMs = 0.0001) {
  let elapsed = 0;
  let wallShift = 0;
  return {
    src: {
      perfNow: () => (elapsed += costMs),
      dateNow: () => Math.floor(t0 + wallShift + (elapsed += costMs)),
    },
    step: (ms: number) => (wallShift += ms),
    /** Time passes (both clocks). */
    wait: (ms: number) => (elapsed += ms),
  };
}

t.test('the anchor sits on the Date.now() edge (simulated clocks)', async (t) => {
  const T0 = 1795606593000.37;
  const sim = simulated(T0);
  const a = takeAnchor(5, sim.src);
  t.ok(Math.abs(a.anchorMs - T0) <= a.errorMs + 1e-6, `anchor ${a.anchorMs} within ±${a.errorMs} of ${T0}`);
  t.ok(a.errorMs < 0.001, 'a bracket of a few reads');
  t.equal(a.spreadMs, 0, 'one tight edge decides');
  const clock = new AnchoredWallClock({ sources: sim.src });
  clock.reanchor();
  const before = sim.src.perfNow();
  t.ok(Math.abs(clock.now() - (T0 + before)) < 0.01, 'now() = anchor + monotonic');
  t.ok(clock.resolutionMs < 0.01, 'claims the anchor bracket');
  // The OS clock steps +30 s (domain.md §6.3): the next read sees it. Less than a second after the
  // last anchor it answers with the floored clock + 0.5 ms, and then claims 0.5 ms, not µs.
  sim.step(30_000);
  const p = sim.src.perfNow();
  const coarse = clock.now();
  t.ok(Math.abs(coarse - (T0 + 30_000 + p)) <= 0.5 + 0.01, `a coarse read ${coarse - T0 - 30_000 - p} ms from the truth`);
  t.equal(clock.steps, 1, 'the step is counted');
  t.equal(clock.resolutionMs, 0.5, 'and the coarse read is not passed off as µs');
  sim.wait(6_000);
  t.ok(Math.abs(clock.now() - (T0 + 30_000 + sim.src.perfNow())) < 0.01, 'a second later it re-anchors and follows the stepped clock');
  t.ok(clock.resolutionMs < 0.01, 'and claims µs again once no coarse read is recent');
  t.equal(clock.steps, 1, 'one step, counted once');
});

t.test('preempted anchors: loose brackets are retried, their spread reported', async (t) => {
  let elapsed = 0;
  const seen = new Set<number>();
  // Every read costs 0.03 ms: no bracket can be tighter than 0.06 ms, so none is "good".
  const src = {
    perfNow: () => (elapsed += 0.03),
    dateNow: () => {
      const d = Math.floor(1795606593000.5 + (elapsed += 0.03));
      seen.add(d);
      return d;
    },
  };
  const a = takeAnchor(5, src);
  t.ok(a.errorMs > 0.02, `loose bracket ${a.errorMs}`);
  t.ok(Math.abs(a.anchorMs - 1795606593000.5) <= a.errorMs + a.spreadMs, 'still bounded');
  t.equal(seen.size, 6, 'five edges were tried (six distinct milliseconds)');
});

t.test('real clocks: sub-ms timestamps that stay tied to Date.now()', async (t) => {
  const clock = new AnchoredWallClock();
  const res = clock.resolutionMs;
  t.ok(res > 0 && res < 1, `resolution ${res} ms is sub-millisecond`);
  const tol = res + 0.05;
  let outside = 0;
  let fractional = 0;
  for (let i = 0; i < 5000; i++) {
    const d1 = Date.now();
    const w = clock.now();
    const d2 = Date.now();
    if (w < d1 - tol || w >= d2 + 1 + tol) outside++;
    if (w % 1 !== 0) fractional++;
  }
  t.equal(outside, 0, 'every timestamp within [Date.now() before, Date.now() after + 1 ms) ± resolution');
  t.ok(fractional > 4000, 'timestamps carry sub-millisecond fractions');
});

t.test('step detection between cycles (wall vs monotonic progress)', async (t) => {
  let wall = 1795606593000;
  let mono = 1000;
  const d = createStepDetector(1000, { wallMs: () => wall, monoMs: () => mono });
  wall += 60_000;
  mono += 60_000;
  t.equal(d.check(), null, 'equal progress: no step');
  wall += 60_000 + 30_000;
  mono += 60_000;
  t.same(d.check(), { kind: 'step', atMs: wall, stepMs: 30_000, cause: 'step' });
  wall += 60_000 - 5_000;
  mono += 60_000;
  t.same(d.check(), { kind: 'step', atMs: wall, stepMs: -5_000, cause: 'step' }, 'backwards');
  wall += 60_500;
  mono += 60_000;
  t.equal(d.check(), null, 'below the threshold');
  t.equal(d.peek().length, 2);
  t.equal(d.take().length, 2);
  t.same(d.take(), [], 'taken once');
  t.equal(d.total(), 2);
  const small = createStepDetector(1000, { wallMs: () => wall, monoMs: () => mono }, 3);
  for (let i = 0; i < 5; i++) {
    wall += 10_000;
    small.check();
  }
  t.equal(small.take().length, 3, 'bounded: the newest are kept');
});

t.test('suspend is told apart from a step by CLOCK_BOOTTIME (/proc/uptime counts suspend, MONOTONIC does not)', async (t) => {
  let wall = 1_795_600_000_000;
  let mono = 1000;
  let boot = 5000;
  const d = createStepDetector(1000, { wallMs: () => wall, monoMs: () => mono, bootMs: () => boot });
  // Suspended for an hour: wall and boot time moved, monotonic did not.
  wall += 3_600_000 + 10;
  boot += 3_600_000 + 10;
  mono += 10;
  t.match(d.check(), { kind: 'step', cause: 'suspend', suspendedMs: 3_600_000, stepMs: 3_600_000 });
  // A step of +30 s alone.
  wall += 30_010;
  boot += 10;
  mono += 10;
  t.match(d.check(), { cause: 'step', stepMs: 30_000 });
  // Both in one interval: reported as two events, the suspend and the step apart.
  wall += 600_000 - 5_000 + 10;
  boot += 600_000 + 10;
  mono += 10;
  d.check();
  const all = d.take();
  t.same(all.map((e) => [e.cause, e.stepMs]), [['suspend', 3_600_000], ['step', 30_000], ['suspend', 600_000], ['step', -5_000]]);
  // No boot clock (not Linux): a jump is a step, as before.
  const plain = createStepDetector(1000, { wallMs: () => wall, monoMs: () => mono });
  wall += 5000;
  t.match(plain.check(), { cause: 'step', stepMs: 5000 });
});
