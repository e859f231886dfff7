// Benchmark 3: the agent's footprint.
// - 100 cycles in one process (bench/agent-cycles.mjs, pinned to core 1) against the real collector
//   (core 0): RSS after the cycles, CPU ms per cycle, processes started per cycle. Twice: on this
//   machine's real root, and on the kvm-guest fixture tree with chronyc's recorded output (a guest
//   running chronyd: what a cycle has to ask a daemon).
// - Cold start: from spawn() of the CLI (dist and the single-file bundle) to the first report
//   arriving at a collector (a minimal one in this process, which notes the arrival time).
// - Bundle size: `scripts/bundle-agent.mjs` (what `npm run bundle` runs), built into bench/work.
// Baseline: `node -e ''` — its RSS and its spawn-to-exit time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { agentCli, benchDir, cpuMsOf, LOAD_CORE, trackChild, median, pinnedCommand, repo, spawnNode, startCollector, summarize, workDir } from './lib.mjs';
import { spawn } from 'node:child_process';

function vmRssMiB(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return null;
  }
}

/** A minimal collector: answers the exchange and the push, and resolves `first` at the first report. */
function tinyCollector() {
  let onFirst = null;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || 'null');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/time') return res.end(JSON.stringify({ t1: body.t1, t2: Date.now(), t3: Date.now() }));
      const at = performance.now();
      const reports = Array.isArray(body) ? body : [body];
      res.end(JSON.stringify({ accepted: reports.length, results: reports.map((r) => ({ reportId: r.reportId, agentId: r.agent.id, stored: true, duplicate: false, offsetMs: null, uncertaintyMs: null, rtcOffsetS: null, verdict: { status: 'unknown', checks: [], rules: [] } })) }));
      onFirst?.(at);
      onFirst = null;
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        nextReport: () => new Promise((r) => (onFirst = r)),
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

async function coldStart(file, collectorUrl, runs) {
  const times = [];
  const rss = [];
  for (let i = 0; i < runs; i++) {
    const spool = mkdtempSync(path.join(workDir, 'cold-'));
    const c = await collectorUrl();
    const arrived = c.nextReport();
    const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, [file, '--collector', c.url, '--interval', '60', '--spool', spool, '--id', `cold-${i}`, '--root', '/', '--log-level', 'warn']);
    const t0 = performance.now();
    const child = trackChild(spawn(cmd, args, { stdio: 'ignore', env: { PATH: process.env.PATH } }));
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`${file}: no report within 20 s`)), 20_000));
    const at = await Promise.race([arrived, timeout]);
    times.push(at - t0);
    await new Promise((r) => setTimeout(r, 50));
    rss.push(vmRssMiB(child.pid));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    await c.close();
    rmSync(spool, { recursive: true, force: true });
  }
  return { ms: summarize(times), rssMiB: summarize(rss) };
}

async function cycles(collector, n, args, id) {
  const p = spawnNode(path.join(benchDir, 'agent-cycles.mjs'), [JSON.stringify({ collector, cycles: n, args, id })], { core: LOAD_CORE });
  const r = await p.done;
  if (r.code !== 0) throw new Error(`agent-cycles failed: ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/**
 * The CLI in its run-forever mode (--interval 1) against the collector until it logged `n` cycles:
 * its own per-cycle figures (debug line: process.cpuUsage around the cycle, processes its runner
 * started), CPU from /proc (utime + stime, all threads) and VmRSS after the last cycle.
 */
async function cliLoop(file, collectorUrl, n) {
  const spool = mkdtempSync(path.join(workDir, 'loop-'));
  const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, [file, '--collector', collectorUrl, '--interval', '1', '--spool', spool, '--id', 'bench-footprint-cli', '--root', '/', '--log-level', 'debug']);
  const child = trackChild(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } }));
  const lines = [];
  let rest = '';
  child.stderr.on('data', (d) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop();
    for (const l of parts) if (l.includes('cycle seq')) lines.push(l);
  });
  const deadline = Date.now() + (n + 20) * 2500;
  let ticks0 = null;
  while (lines.length < n) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`agent CLI stopped after ${lines.length} cycles`);
    if (ticks0 === null && lines.length >= 5) ticks0 = { cycles: lines.length, cpu: cpuMsOf(child.pid) };
    await new Promise((r) => setTimeout(r, 50));
  }
  const cpu1 = cpuMsOf(child.pid);
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  const rssMiB = kib('VmRSS');
  const peakMiB = kib('VmHWM');
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  rmSync(spool, { recursive: true, force: true });
  const parsed = lines.slice(0, n).map((l) => ({ cpuMs: Number(/: ([\d.]+) ms CPU/.exec(l)?.[1]), spawns: Number(/(\d+) process/.exec(l)?.[1]) }));
  return {
    cycles: parsed.length,
    rssMiB,
    peakMiB,
    cpuMs: parsed.map((p) => p.cpuMs),
    spawns: parsed.map((p) => p.spawns),
    procCpuMsPerCycle: ticks0 ? (cpu1 - ticks0.cpu) / (n - ticks0.cycles) : null,
  };
}

/**
 * The timer mode: `--once` runs back to back against the collector, one spool (its clock state
 * carried from run to run). CPU per run from bash's `times` (user + system of the finished child,
 * every thread, start-up included), VmHWM from /usr/bin/time when it is there.
 */
function timerRuns(file, collectorUrl, n) {
  const spool = mkdtempSync(path.join(workDir, 'once-'));
  const cpu = [];
  for (let i = 0; i < n; i++) {
    const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, [file, '--once', '--collector', collectorUrl, '--spool', spool, '--id', 'bench-footprint-once', '--root', '/', '--log-level', 'warn']);
    const r = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1; echo "exit $?"; times', '_', cmd, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const lines = r.stdout.trim().split('\n');
    if (!/^exit 0$/.test(lines[0] ?? '')) throw new Error(`agent --once exited: ${lines[0]}`);
    // `times`: the shell's own user/system, then its children's: "0m0.123s 0m0.045s".
    const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[2] ?? '');
    if (m) cpu.push((Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000);
  }
  rmSync(spool, { recursive: true, force: true });
  return { runs: n, cpuMs: cpu };
}

export async function benchAgentFootprint({ quick = false, log = console.error } = {}) {
  const loopCycles = quick ? 15 : 100;
  const harnessCycles = quick ? 20 : 100;

  // Bundle (built into bench/work, as `npm run bundle` builds it into packages/agent/bundle).
  const bundle = path.join(workDir, 'clockwatch-agent.mjs');
  const b = spawnSync(process.execPath, [path.join(repo, 'scripts/bundle-agent.mjs'), '--outfile', bundle], { encoding: 'utf8' });
  const bundleBytes = b.status === 0 ? statSync(bundle).size : null;
  if (b.status !== 0) log(`  bundle failed: ${b.stderr}`);
  const cliFile = bundleBytes ? bundle : agentCli;

  const db = path.join(workDir, 'footprint.db');
  for (const x of ['', '-wal', '-shm']) rmSync(db + x, { force: true });
  const collector = await startCollector({ db });
  let loop;
  let timer;
  let real;
  let chrony;
  try {
    loop = await cliLoop(cliFile, collector.url, loopCycles);
    timer = timerRuns(cliFile, collector.url, quick ? 3 : 10);
    real = await cycles(collector.url, harnessCycles, ['--root', '/']);
    chrony = await cycles(collector.url, harnessCycles, ['--root', path.join(repo, 'test/fixtures/roots/kvm-guest'), '--replay', path.join(repo, 'test/fixtures/commands/chrony-synced')], 'bench-footprint-chrony');
  } finally {
    await collector.stop();
    for (const x of ['', '-wal', '-shm']) rmSync(db + x, { force: true });
  }
  log(`  agent CLI: ${loop.cycles} cycles, RSS ${loop.rssMiB.toFixed(1)} MiB, CPU median ${median(loop.cpuMs).toFixed(2)} ms/cycle (/proc ${loop.procCpuMsPerCycle?.toFixed(1)} ms), spawns max ${Math.max(...loop.spawns)}; in-process harness: RSS ${real.vmRssMiB.toFixed(1)} MiB, CPU median ${median(real.cpuMs).toFixed(2)} ms, chrony guest spawns ${Math.max(...chrony.runnerSpawns)}`);

  const runs = quick ? 3 : 7;
  const tiny = async () => tinyCollector();
  const coldDist = await coldStart(agentCli, tiny, runs);
  const coldBundle = bundleBytes ? await coldStart(bundle, tiny, runs) : null;

  // Baseline: bare node.
  const nodeStart = [];
  for (let i = 0; i < runs; i++) {
    const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, ['-e', '']);
    const t0 = performance.now();
    spawnSync(cmd, args);
    nodeStart.push(performance.now() - t0);
  }
  const nodeRss = JSON.parse(spawnSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.memoryUsage().rss))'], { encoding: 'utf8' }).stdout) / 2 ** 20;
  const nodeStartMs = median(nodeStart);
  log(`  agent cold start: dist ${coldDist.ms.median.toFixed(0)} ms, bundle ${coldBundle?.ms.median.toFixed(0)} ms; node -e '' ${nodeStartMs.toFixed(0)} ms`);

  const cpu = summarize(loop.cpuMs.slice(1));
  const spawnsLoop = Math.max(...loop.spawns);
  const spawnsHarness = Math.max(...real.processSpawns, ...real.runnerSpawns);
  const spawnsChrony = Math.max(...chrony.runnerSpawns, ...chrony.processSpawns);
  const which = cliFile === bundle ? 'bundle' : 'dist/cli.js';
  const rows = [
    {
      section: '3 agent',
      figure: `RSS after ${loop.cycles} cycles (CLI from the ${which}, --interval 1)`,
      value: loop.rssMiB,
      unit: 'MiB',
      baseline: nodeRss,
      baselineLabel: "node -e ''",
      ratio: loop.rssMiB / nodeRss,
      target: '≤ 55 MiB',
      met: loop.rssMiB <= 55,
      note: `peak ${loop.peakMiB.toFixed(1)} MiB; the bundle's V8 settings (cli.ts: Liftoff only for undici's WebAssembly, no optimising JS tiers) and undici's Client alone (http-client.ts); ${real.cycles} cycles back to back in one process from dist: ${real.vmRssMiB.toFixed(1)} MiB (peak ${real.peakRssMiB.toFixed(1)})`,
    },
    {
      section: '3 agent',
      figure: 'CPU per cycle (all threads, /proc utime+stime)',
      value: loop.procCpuMsPerCycle,
      unit: 'ms',
      baseline: null,
      baselineLabel: '',
      ratio: null,
      target: '≤ 3 ms',
      met: loop.procCpuMsPerCycle !== null && loop.procCpuMsPerCycle <= 3,
      note: `/proc has 10 ms ticks: averaged over cycles 6–${loop.cycles}; in-process (process.cpuUsage) median ${cpu.median.toFixed(2)} ms, max ${cpu.max.toFixed(1)} ms; in-process harness median ${median(real.cpuMs).toFixed(2)} ms (chrony guest fixture ${median(chrony.cpuMs).toFixed(2)} ms)`,
    },
    {
      section: '3 agent',
      figure: `timer mode: CPU per --once run (all threads, start-up included; CLI from the ${which})`,
      value: timer.cpuMs.length ? median(timer.cpuMs) : null,
      unit: 'ms',
      baseline: null,
      baselineLabel: '',
      ratio: null,
      target: '(none: measured)',
      met: null,
      note: `${timer.runs} runs on one spool (clock state carried across runs); min ${timer.cpuMs.length ? Math.min(...timer.cpuMs).toFixed(0) : '–'}, max ${timer.cpuMs.length ? Math.max(...timer.cpuMs).toFixed(0) : '–'} ms; bash times (children user + system)`,
    },
    {
      section: '3 agent',
      figure: 'processes started per cycle (max)',
      value: Math.max(spawnsLoop, spawnsHarness, spawnsChrony),
      unit: '',
      baseline: null,
      baselineLabel: '',
      ratio: null,
      target: '≤ 2',
      met: Math.max(spawnsLoop, spawnsHarness, spawnsChrony) <= 2,
      note: `this machine (no NTP daemon running): ${Math.max(spawnsLoop, spawnsHarness)} (runner count and ChildProcess hook agree); kvm-guest fixture with chronyd: ${spawnsChrony} (chronyc); static facts at start: ${real.staticSpawns.process}`,
    },
    {
      section: '3 agent',
      figure: `cold start to first report, CLI from the ${which}`,
      value: (coldBundle ?? coldDist).ms.median,
      unit: 'ms',
      baseline: nodeStartMs,
      baselineLabel: "node -e '' (spawn to exit)",
      ratio: (coldBundle ?? coldDist).ms.median / nodeStartMs,
      target: '(none)',
      met: null,
      note: `dist/cli.js ${coldDist.ms.median.toFixed(0)} ms; includes the 8-sample time exchange and the push; median of ${runs}`,
    },
    {
      section: '3 agent',
      figure: 'bundle size (npm run bundle: one ESM file, no node_modules)',
      value: bundleBytes === null ? null : bundleBytes / 1024,
      unit: 'KiB',
      baseline: null,
      baselineLabel: '',
      ratio: null,
      target: '(none)',
      met: null,
      note: bundleBytes === null ? 'bundle failed' : `${bundleBytes.toLocaleString('en-US')} bytes`,
    },
  ];
  return { rows, details: { loop, timer, harness: { real, chrony }, coldDist, coldBundle, bundleBytes, nodeRssMiB: nodeRss, nodeStartMs } };
}
