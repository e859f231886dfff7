// Benchmark 2: accuracy of the time exchange, end to end. The real agent (`--once`) runs under
// libfaketime with a known offset of its wall clock (monotonic clock not faked, domain.md §10), so
// the true offset guest − host is that offset; the collector (real CLI, core 0) measures it from the
// agent's samples and answers the verdict with offsetMs and uncertaintyMs. Idle, and while the
// load generator of benchmark 1 floods POST /v1/reports over 50 connections. The agent takes its
// samples on the dedicated time listener (its own thread and port, --time-listen auto) as it does
// by default; the same runs against a collector with --time-listen off (the exchange on the ingest
// event loop, as before issue 12) are the baseline of the uncertainty figures.
// Baseline of the error figures: the same measurement without faketime (true offset 0).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { agentCli, LOAD_CORE, repo, runLoad, spawnNode, startCollector, summarize, workDir } from './lib.mjs';

const OFFSETS = [
  { ms: 0, faketime: null },
  { ms: -2500, faketime: '-2.5s' },
  { ms: 750, faketime: '+0.75s' },
  { ms: 5000, faketime: '+5s' },
];

export const faketimeAvailable = () => spawnSync('faketime', ['-f', '+0s', 'true']).status === 0;

async function agentOnce(url, offset, n, spoolRoot) {
  const spool = mkdtempSync(path.join(spoolRoot, 'spool-'));
  const wrapper = offset.faketime ? ['faketime', '-f', offset.faketime] : [];
  const args = ['--once', '--collector', url, '--spool', spool, '--root', path.join(repo, 'test/fixtures/roots/kvm-guest'), '--id', `bench-time-${offset.ms}-${n}`, '--log-level', 'warn'];
  const p = spawnNode(agentCli, args, { core: LOAD_CORE, wrapper, env: offset.faketime ? { FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {} });
  const r = await p.done;
  rmSync(spool, { recursive: true, force: true });
  let out;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    throw new Error(`agent --once (${offset.faketime ?? 'no faketime'}) printed no verdict (exit ${r.code}): ${r.stderr.slice(0, 1000)}`);
  }
  if (!out.accepted || typeof out.offsetMs !== 'number') throw new Error(`agent --once: not measured: ${r.stdout.slice(0, 500)}`);
  return { trueMs: offset.ms, offsetMs: out.offsetMs, uncertaintyMs: out.uncertaintyMs, errorMs: Math.abs(out.offsetMs - offset.ms) };
}

async function phases(collectorArgs, perOffset, log, label) {
  const db = path.join(workDir, 'time.db');
  for (const x of ['', '-wal', '-shm']) rmSync(db + x, { force: true });
  const spoolRoot = mkdtempSync(path.join(workDir, 'time-'));
  const collector = await startCollector({ db, args: collectorArgs });
  const results = { idle: [], load: [] };
  let loadResult = null;
  try {
    for (const phase of ['idle', 'load']) {
      let load = null;
      if (phase === 'load') {
        // Long enough for every agent run; stopped early by its duration only.
        const seconds = Math.ceil(perOffset * OFFSETS.length * 0.9) + 8;
        load = runLoad(collector.url, collector.pid, { connections: 50, seconds, warmupS: 0, agents: 10_000, tag: 't' });
        await new Promise((r) => setTimeout(r, 1500));
      }
      for (let i = 0; i < perOffset; i++) {
        for (const offset of OFFSETS) results[phase].push(await agentOnce(collector.url, offset, `${phase}${i}`, spoolRoot));
      }
      if (load) loadResult = await load;
      const rs = results[phase];
      log(`  time ${label} ${phase}: ${rs.length} runs, max |error| ${Math.max(...rs.map((r) => r.errorMs)).toFixed(3)} ms, uncertainty median ${summarize(rs.map((r) => r.uncertaintyMs)).median.toFixed(3)} ms, max ${summarize(rs.map((r) => r.uncertaintyMs)).max.toFixed(3)} ms`);
    }
  } finally {
    await collector.stop();
    rmSync(spoolRoot, { recursive: true, force: true });
    for (const x of ['', '-wal', '-shm']) rmSync(db + x, { force: true });
  }
  return { results, loadResult };
}

export async function benchTimeAccuracy({ quick = false, log = console.error } = {}) {
  if (!faketimeAvailable()) {
    return { rows: [{ section: '2 time', figure: 'time exchange accuracy', value: null, unit: '', target: 'error within uncertainty', met: null, note: 'faketime is not installed: not measured' }], details: {} };
  }
  const perOffset = quick ? 3 : 10;
  const dedicated = await phases([], perOffset, log, 'time listener');
  const shared = await phases(['--time-listen', 'off'], quick ? 2 : 5, log, '--time-listen off');
  const { results, loadResult } = dedicated;
  const rows = [];
  for (const phase of ['idle', 'load']) {
    const rs = results[phase];
    const faked = rs.filter((r) => r.trueMs !== 0);
    const base = rs.filter((r) => r.trueMs === 0);
    const within = (xs) => xs.every((r) => r.errorMs <= r.uncertaintyMs);
    const worstRatio = (xs) => Math.max(...xs.map((r) => r.errorMs / r.uncertaintyMs));
    const what = phase === 'idle' ? 'idle loopback' : `under ingest load (${loadResult ? Math.round(loadResult.rps) : '?'} reports/s, 50 connections)`;
    const sharedRs = shared.results[phase];
    rows.push({
      section: '2 time',
      figure: `max |measured − true| offset, −2500/+750/+5000 ms, ${what}`,
      value: Math.max(...faked.map((r) => r.errorMs)),
      unit: 'ms',
      baseline: Math.max(...base.map((r) => r.errorMs)),
      baselineLabel: 'no faketime (true offset 0)',
      ratio: null,
      target: 'always ≤ stated uncertainty',
      met: within(faked) && within(base),
      note: `${faked.length} faked + ${base.length} baseline runs; worst error/uncertainty ${worstRatio(faked).toFixed(2)} (baseline ${worstRatio(base).toFixed(2)}); errors by offset: ${OFFSETS.filter((o) => o.ms)
        .map((o) => `${o.ms}: ${summarize(faked.filter((r) => r.trueMs === o.ms).map((r) => r.errorMs)).median.toFixed(3)}`)
        .join(', ')} ms (medians); --time-listen off: worst error/uncertainty ${worstRatio(sharedRs).toFixed(2)}, ${within(sharedRs) ? 'within' : 'NOT within'} in every run`,
    });
    const unc = summarize(rs.map((r) => r.uncertaintyMs));
    const sharedUnc = summarize(sharedRs.map((r) => r.uncertaintyMs));
    rows.push({
      section: '2 time',
      figure: `stated uncertainty, median, ${what}`,
      value: unc.median,
      unit: 'ms',
      baseline: sharedUnc.median,
      baselineLabel: '--time-listen off: on the ingest loop',
      ratio: sharedUnc.median ? unc.median / sharedUnc.median : null,
      target: phase === 'idle' ? 'median ≤ 0.25 ms' : 'median ≤ 0.5 ms',
      met: phase === 'idle' ? unc.median <= 0.25 : unc.median <= 0.5,
      note: `min ${unc.min.toFixed(3)} ms over ${unc.n} runs; --time-listen off: median ${sharedUnc.median.toFixed(3)}, max ${sharedUnc.max.toFixed(3)} ms over ${sharedUnc.n} runs`,
    });
    if (phase === 'load') {
      rows.push({
        section: '2 time',
        figure: `stated uncertainty, max, ${what}`,
        value: unc.max,
        unit: 'ms',
        baseline: sharedUnc.max,
        baselineLabel: '--time-listen off: on the ingest loop',
        ratio: sharedUnc.max ? unc.max / sharedUnc.max : null,
        target: 'max ≤ 1 ms',
        met: unc.max <= 1,
        note: `${rs.filter((r) => r.uncertaintyMs > 0.5).length} of ${rs.length} runs above 0.5 ms; load generator ${shared.loadResult ? Math.round(shared.loadResult.rps) : '?'} reports/s against the --time-listen off collector`,
      });
    }
  }
  return { rows, details: { perOffset, results, load: loadResult, timeListenOff: shared } };
}
