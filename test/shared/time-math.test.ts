import t from 'tap';
import { driftPpm, PLAIN_FIT, measureSamples, sampleOffset, type Sample } from '@clockwatch/shared';

/** Deterministic PRNG (mulberry32) so a failing property can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** One exchange: guest clock = host clock + trueOffset; out/back one-way delays, server hold. */
function exchange(hostT1: number, trueOffset: number, out: number, back: number, hold: number): Sample {
  const t1 = hostT1 + trueOffset; // guest clock at send
  const t2 = hostT1 + out; // host clock at receive
  const t3 = t2 + hold;
  const t4 = t3 + back + trueOffset; // guest clock at receive
  return { t1, t2, t3, t4 };
}

t.test('sign convention: offsetMs = guest − host', async (t) => {
  const ahead = sampleOffset(exchange(1.7e12, 250, 1, 1, 0.1));
  t.ok(Math.abs(ahead.offsetMs - 250) < 1e-6, 'guest ahead gives a positive offset');
  const behind = sampleOffset(exchange(1.7e12, -250, 1, 1, 0.1));
  t.ok(Math.abs(behind.offsetMs + 250) < 1e-6, 'guest behind gives a negative offset');
  t.ok(Math.abs(ahead.delayMs - 2) < 1e-6, 'delay excludes the server hold time');
});

t.test('property: the true offset lies within offset ± uncertainty', async (t) => {
  const seeds = 2000;
  let violations = 0;
  let worstSlack = Infinity;
  for (let seed = 1; seed <= seeds; seed++) {
    const r = rng(seed);
    const trueOffset = (r() - 0.5) * 2 * 3_600_000; // ±1 h
    const n = 1 + Math.floor(r() * 8);
    const samples: Sample[] = [];
    for (let i = 0; i < n; i++) {
      // Asymmetric paths: one direction may be 100× slower than the other.
      const out = r() < 0.5 ? r() * 0.5 : r() * 50;
      const back = r() < 0.5 ? r() * 0.5 : r() * 50;
      samples.push(exchange(1.79e12 + i * 1000, trueOffset, out, back, r() * 2));
    }
    const m = measureSamples(samples, 0.001);
    if (!m) {
      violations++;
      continue;
    }
    const err = Math.abs(m.offsetMs - trueOffset);
    worstSlack = Math.min(worstSlack, m.uncertaintyMs - err);
    if (err > m.uncertaintyMs) violations++;
  }
  t.equal(violations, 0, `no violation in ${seeds} random exchanges (smallest slack ${worstSlack.toFixed(6)} ms)`);
});

t.test('minimum-delay sample is chosen (RFC 5905 clock filter)', async (t) => {
  const s = [exchange(1.79e12, 100, 20, 1, 0), exchange(1.79e12 + 10, 100, 0.2, 0.3, 0), exchange(1.79e12 + 20, 100, 1, 9, 0)];
  const m = measureSamples(s, 0.001);
  t.equal(m?.sampleIndex, 1);
  t.ok(m && Math.abs(m.delayMs - 0.5) < 1e-6);
  t.ok(m && Math.abs(m.uncertaintyMs - 0.251) < 1e-6, 'uncertainty = δ/2 + resolution');
});

t.test('impossible samples are discarded', async (t) => {
  const bad: Sample = { t1: 1.79e12, t2: 1.79e12 + 5, t3: 1.79e12 + 4, t4: 1.79e12 + 10 }; // t3 < t2
  t.equal(measureSamples([bad], 0.001), null);
  const good = exchange(1.79e12, 3, 1, 1, 0);
  t.equal(measureSamples([bad, good], 0.001)?.sampleIndex, 1);
  const stepped: Sample = { t1: 1.79e12, t2: 1.79e12, t3: 1.79e12, t4: 1.79e12 - 1 }; // guest stepped back mid-exchange
  t.equal(measureSamples([stepped], 0.001), null);
});

t.test('drift rate by least squares, in ppm', async (t) => {
  // +50 ppm: 50 µs per second = 0.05 ms per s.
  const pts = Array.from({ length: 60 }, (_, i) => ({ atMs: 1.79e12 + i * 60_000, offsetMs: 12 + 0.05 * i * 60 + (i % 2 ? 0.01 : -0.01) }));
  const d = driftPpm(pts);
  t.ok(d && Math.abs(d.ppm - 50) < 0.1, `ppm ${d?.ppm}`);
  t.equal(d?.points, 60);
  t.equal(driftPpm(pts.slice(0, 1)), null, 'one point has no slope');
  t.equal(driftPpm([]), null);
});

t.test('drift ignores the jump across a recorded clock step', async (t) => {
  const base = 1.79e12;
  const pts = [];
  for (let i = 0; i < 30; i++) pts.push({ atMs: base + i * 60_000, offsetMs: 0.02 * i * 60 }); // +20 ppm
  for (let i = 30; i < 60; i++) pts.push({ atMs: base + i * 60_000, offsetMs: -5000 + 0.02 * i * 60 }); // stepped back 5 s
  const naive = driftPpm(pts, [], PLAIN_FIT);
  t.ok(naive && naive.ppm < -1000, 'a plain fit without the step is dominated by the jump');
  t.ok(Math.abs(driftPpm(pts)!.ppm - 20) < 0.01, 'by default a jump far beyond any drift splits the fit even unrecorded');
  const d = driftPpm(pts, [base + 29.5 * 60_000]);
  t.ok(d && Math.abs(d.ppm - 20) < 0.01, `with the step: ${d?.ppm} ppm`);
  t.equal(d?.segments, 2);
});

t.test('drift carries its uncertainty; none below the minimum span or when the uncertainty exceeds it', async (t) => {
  const base = 1.79e12;
  // Two points 60 s apart (the 16.7 ppm): below the minimum span, no drift.
  t.equal(driftPpm([{ atMs: base, offsetMs: 0 }, { atMs: base + 60_000, offsetMs: 1 }]), null);
  // +20 ppm over an hour with ±0.5 ms samples: the uncertainty is well below the drift.
  const pts = Array.from({ length: 61 }, (_, i) => ({ atMs: base + i * 60_000, offsetMs: 0.02 * i * 60 + (i % 3 === 0 ? 0.3 : -0.15), uncertaintyMs: 0.5 }));
  const d = driftPpm(pts)!;
  t.ok(d && Math.abs(d.ppm - 20) < 0.5, `${d?.ppm} ppm`);
  t.ok(d.uncertaintyPpm > 0 && d.uncertaintyPpm < 1, `± ${d.uncertaintyPpm} ppm`);
  // The same points with ±50 ms samples: the drift is not distinguishable from zero.
  const noisy = pts.map((p) => ({ ...p, uncertaintyMs: 5000 }));
  t.equal(driftPpm(noisy), null, 'uncertainty larger than the drift: no figure');
  // A clock that does not drift at all has no drift figure either (0 ± something).
  t.equal(driftPpm(pts.map((p, i) => ({ ...p, offsetMs: i % 2 ? 0.1 : -0.1 }))), null);
});

t.test('unseen steps split the fit: an 8 h jump, an agent restart, a reboot', async (t) => {
  const base = 1.79e12;
  const pts = [];
  for (let i = 0; i < 30; i++) pts.push({ atMs: base + i * 60_000, offsetMs: 0.01 * i * 60, uncertaintyMs: 0.2, seq: i }); // +10 ppm
  // An 8 h step the agent never saw (e.g. a reboot with a local-time RTC), and nothing recorded.
  for (let i = 30; i < 60; i++) pts.push({ atMs: base + i * 60_000, offsetMs: -28_800_000 + 0.01 * i * 60, uncertaintyMs: 0.2, seq: i });
  const d = driftPpm(pts)!;
  t.ok(d && Math.abs(d.ppm - 10) < 0.05, `the jump splits the fit: ${d?.ppm} ppm (not -6,000,000)`);
  t.equal(d.segments, 2);
  // An agent restart (seq back to 1) with a small offset change still splits.
  const restart = pts.slice(0, 30).concat(pts.slice(0, 30).map((p, i) => ({ ...p, atMs: p.atMs + 30 * 60_000, offsetMs: p.offsetMs + 50, seq: i })));
  t.equal(driftPpm(restart)?.segments, 2);
  // A reboot (boot instant moved).
  const boots = pts.slice(0, 30).map((p, i) => ({ ...p, bootAtMs: i < 15 ? base - 1e6 : base + 7 * 60_000 }));
  t.equal(driftPpm(boots, [], { minSpanMs: 60_000 })?.segments, 2);
});
