// Where an agent cycle's CPU goes, per phase (bench/README.md "Agent CPU"). Not part of
// `npm run bench`: a tool for comparing two checkouts back to back on the same machine.
//
//   node bench/agent-phases.mjs [--repo DIR]... [--rounds 3] [--cycles 40] [--gap-ms 1000] [--root /] [--warmup 5] [--child-flag F]...
//
// Per round and per checkout (alternated: A B A B …): that checkout's collector (its dist CLI, a
// fresh database in a temp dir) and a child process with that checkout's agent CLI's V8 settings
// (cli.ts LEAN_V8_FLAGS, read from its dist: agent-v8-flags.mjs) that imports that checkout's
// packages/agent/dist, runs `--warmup` (5) warm-up cycles, then `--cycles` cycles `--gap-ms` apart (the loop's idle time, so that timers and scavenges
// between cycles happen as in the daemon), with process.cpuUsage around:
// - the whole cycle (Agent.cycle), the readers (buildReport's start to the exchange's re-anchor),
//   the exchange (re-anchor to the report), the spool write (Spool.add), the delivery
//   (Agent.deliver), the re-anchor alone;
// - the gaps between cycles (what the event loop did outside any cycle: timers, GC, sockets);
// - V8's GC pauses on the main thread in the window (perf_hooks 'gc' entries), scavenges and
//   mark-compacts apart: a mark-compact's entry is its final pause only, the incremental marking
//   steps before it run as tasks (in the gaps' CPU; `--child-flag --trace-gc` lists them);
// and /proc/self/stat (every thread: the main thread, V8's GC helpers, libuv's pool) over the
// measured cycles and gaps together. Prints one table; µs per cycle, medians over the rounds.
// `--child-flag F` (repeatable) adds a node flag to the agent child: --trace-gc (its lines go to
// stderr), --cpu-prof --cpu-prof-dir=DIR. `--warmup 45` at the default gap puts V8's memory
// reducer (once, 10–35 s after start) before the window: the steady state of a long-running agent.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { leanV8Flags } from './agent-v8-flags.mjs';
import { pinnedCommand, repo as thisRepo, LOAD_CORE, SERVER_CORE, median, trackChild, startServer } from './lib.mjs';

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await parent();

async function parent() {
  const argv = process.argv.slice(2);
  const all = (k) => argv.flatMap((a, i) => (a === k ? [argv[i + 1]] : []));
  const one = (k, d) => all(k).at(-1) ?? d;
  const repos = all('--repo').map((r) => path.resolve(r));
  if (repos.length === 0) repos.push(thisRepo);
  const rounds = Number(one('--rounds', '3'));
  const o = { cycles: Number(one('--cycles', '40')), gapMs: Number(one('--gap-ms', '1000')), root: one('--root', '/'), warmup: Number(one('--warmup', '5')), childFlags: all('--child-flag') };
  const results = new Map(repos.map((r) => [r, []]));
  for (let round = 0; round < rounds; round++) {
    for (const r of repos) {
      const res = await runOne(r, o);
      results.get(r).push(res);
      process.stderr.write(`round ${round + 1} ${r}: cycle ${res['whole cycle'].toFixed(0)} µs, /proc ${res['all threads (/proc), cycle + gap'].toFixed(0)} µs\n`);
    }
  }
  const keys = Object.keys(results.get(repos[0])[0]);
  const head = ['phase (µs per cycle, median of rounds)', ...repos.map((r) => path.basename(r))];
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| --- | ${repos.map(() => '---:').join(' | ')} |`);
  for (const k of keys) console.log(`| ${k} | ${repos.map((r) => median(results.get(r).map((x) => x[k])).toFixed(0)).join(' | ')} |`);
}

async function runOne(repoDir, o) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cw-phases-'));
  const collector = await startServer(path.join(repoDir, 'packages/collector/dist/cli.js'), ['serve', '--listen', '127.0.0.1:0', '--db', path.join(tmp, 'c.db'), '--log-level', 'info'], { core: SERVER_CORE });
  try {
    const spec = JSON.stringify({ ...o, repoDir, collector: collector.url, spool: path.join(tmp, 'spool') });
    const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, [...leanV8Flags(repoDir), ...o.childFlags, path.join(thisRepo, 'bench/agent-phases.mjs'), '--child', spec]);
    const c = trackChild(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => c.on('close', r));
    if (code !== 0) throw new Error(`phase child for ${repoDir} exited ${code}`);
    // A --child-flag such as --trace-gc writes to stdout too: its lines go to stderr, the result is the last JSON line.
    const lines = out.trim().split('\n');
    const last = lines.findLastIndex((l) => l.startsWith('{'));
    process.stderr.write(lines.filter((_, i) => i !== last).map((l) => `${l}\n`).join(''));
    return JSON.parse(lines[last]);
  } finally {
    await collector.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function procCpuUs() {
  // /proc/self/stat fields 14, 15 (utime, stime) in USER_HZ ticks (proc(5)); every thread.
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

async function child(o) {
  const dist = (p) => pathToFileURL(path.join(o.repoDir, 'packages/agent/dist', p)).href;
  const { Agent, Spool, AnchoredWallClock, createCommandRunner, loadConfig, silentLogger } = await import(dist('index.js'));
  const acc = new Map();
  const add = (k, c) => acc.set(k, (acc.get(k) ?? 0) + c.user + c.system);
  const wrap = (proto, name, label) => {
    const orig = proto[name];
    proto[name] = function (...a) {
      const c0 = process.cpuUsage();
      const r = orig.apply(this, a);
      const done = () => add(label, process.cpuUsage(c0));
      if (r && typeof r.then === 'function') return r.finally(done);
      done();
      return r;
    };
  };
  const { config } = loadConfig({ argv: ['--collector', o.collector, '--spool', o.spool, '--id', 'phases', '--interval', '60', '--root', o.root], env: {}, readFile: (f) => readFileSync(f, 'utf8') });
  const run = createCommandRunner({ path: process.env.PATH, defaultTimeoutMs: config.timeoutMs });
  const agent = await Agent.create({ config, run, env: {}, log: silentLogger, isRoot: process.getuid?.() === 0 });
  // Readers: buildReport's start to the exchange's first re-anchor; exchange: from there to the report.
  const build = Agent.prototype.buildReport;
  const reanchor = AnchoredWallClock.prototype.reanchor;
  let b0 = null;
  let x0 = null;
  AnchoredWallClock.prototype.reanchor = function (...a) {
    if (b0) {
      add('readers (to the exchange)', process.cpuUsage(b0));
      b0 = null;
      x0 = process.cpuUsage();
    }
    const c0 = process.cpuUsage();
    const r = reanchor.apply(this, a);
    add('  of which the re-anchor', process.cpuUsage(c0));
    return r;
  };
  Agent.prototype.buildReport = async function (...a) {
    b0 = process.cpuUsage();
    x0 = null;
    const r = await build.apply(this, a);
    if (x0) add('time exchange', process.cpuUsage(x0));
    return r;
  };
  wrap(Spool.prototype, 'add', 'spool write');
  wrap(Agent.prototype, 'deliver', 'delivery');
  const warm = o.warmup;
  // V8's pauses on the main thread (perf_hooks 'gc' entries, wall ms of each pause) in the window:
  // scavenges (minor), and the rest (mark-compacts' final pauses, incremental marking, weak callbacks).
  const gc = { on: false, minorMs: 0, minorN: 0, majorMs: 0, majorN: 0 };
  const gcObs = new PerformanceObserver((list) => {
    if (!gc.on) return;
    for (const e of list.getEntries()) {
      if (e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) [gc.minorMs, gc.minorN] = [gc.minorMs + e.duration, gc.minorN + 1];
      else [gc.majorMs, gc.majorN] = [gc.majorMs + e.duration, gc.majorN + 1];
    }
  });
  gcObs.observe({ entryTypes: ['gc'] });
  let proc0 = 0;
  for (let i = 0; i < warm + o.cycles; i++) {
    if (i === warm) {
      acc.clear();
      gc.on = true;
      proc0 = procCpuUs();
    }
    const c0 = process.cpuUsage();
    const st = await agent.cycle(Date.now() + 30_000);
    add('whole cycle', process.cpuUsage(c0));
    if (st.delivery?.status !== 'done') throw new Error(`delivery ${st.delivery?.status}: ${st.delivery?.lastError}`);
    const g0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, o.gapMs));
    add('between cycles (all threads)', process.cpuUsage(g0));
  }
  const procUs = procCpuUs() - proc0;
  await new Promise((r) => setImmediate(r));
  gcObs.disconnect();
  await agent.close();
  const out = {};
  for (const k of ['whole cycle', 'readers (to the exchange)', 'time exchange', '  of which the re-anchor', 'spool write', 'delivery', 'between cycles (all threads)']) out[k] = (acc.get(k) ?? 0) / o.cycles;
  out['GC: scavenge pauses (main thread)'] = (gc.minorMs * 1000) / o.cycles;
  out['GC: mark-compact final pauses (main thread, incremental marking steps not included)'] = (gc.majorMs * 1000) / o.cycles;
  out['scavenges in the window'] = gc.minorN;
  out['mark-compacts (and incremental-marking GC events) in the window'] = gc.majorN;
  out['all threads (/proc), cycle + gap'] = procUs / o.cycles;
  out['RSS after, MiB ×1000'] = (process.memoryUsage().rss / 2 ** 20) * 1000;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
