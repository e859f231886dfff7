// Shared helpers of the benchmarks: child processes pinned to a core, the real collector CLI as a
// child, the load generator child, statistics, /proc readings.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const benchDir = path.join(repo, 'bench');
export const workDir = path.join(benchDir, 'work');
export const collectorCli = path.join(repo, 'packages/collector/dist/cli.js');
export const agentCli = path.join(repo, 'packages/agent/dist/cli.js');

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** Server on core 0, load generator on core 1, when the machine has two cores and taskset. */
export const PINNING = hasTaskset && os.cpus().length >= 2;
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

/** The command line for `args` run on `core` (unpinned when taskset or a second core is missing). */
export function pinnedCommand(core, command, args) {
  return PINNING && core !== null ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/** Every child still running: killed if the benchmark is interrupted, so no server outlives it. */
const children = new Set();
let hooked = false;
export function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (hooked) return child;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    });
  }
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  return child;
}

/** Spawns a node script pinned to a core; stdout and stderr are collected. */
export function spawnNode(script, args = [], { core = null, env = {}, nodeArgs = [], wrapper = [] } = {}) {
  const [cmd, cmdArgs] = pinnedCommand(core, wrapper[0] ?? process.execPath, [...wrapper.slice(1), ...(wrapper.length ? [process.execPath] : []), ...nodeArgs, script, ...args]);
  const child = spawn(cmd, cmdArgs, { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, out: () => stdout, err: () => stderr };
}

/** The environment of every child: nothing CLOCKWATCH_* or faketime leaks in from the caller. */
export function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('CLOCKWATCH_') || k.startsWith('FAKETIME') || k === 'LD_PRELOAD' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

/**
 * Starts the real collector CLI (`serve --listen 127.0.0.1:0`) and resolves once its "listening"
 * log line names the URL.
 */
export function startCollector({ db, args = [], core = SERVER_CORE, env = {}, wrapper = [], nodeArgs = [] }) {
  return startServer(collectorCli, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'info', ...args], { core, env, wrapper, nodeArgs });
}

/** Starts a node server script that logs a JSON line with "url"; resolves with its URL. */
export async function startServer(script, args, { core = SERVER_CORE, env = {}, wrapper = [], nodeArgs = [] } = {}) {
  const p = spawnNode(script, args, { core, env, wrapper, nodeArgs });
  const url = await new Promise((resolve, reject) => {
    // Up to 2 min: a database of an older schema is migrated first (schema 5: ~30 s for 14 M samples).
    const timer = setTimeout(() => reject(new Error(`${path.basename(script)} did not start:\n${p.out()}${p.err()}`)), 120_000);
    const onData = () => {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(p.out());
      if (m) {
        clearTimeout(timer);
        p.child.stdout.off('data', onData);
        resolve(m[1]);
      }
    };
    p.child.stdout.on('data', onData);
    p.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(script)} exited ${code}:\n${p.out()}${p.err()}`));
    });
  });
  return {
    url,
    pid: p.child.pid,
    child: p.child,
    logs: p.out,
    /** SIGTERM (commits what is queued) and waits for the exit. */
    async stop(signal = 'SIGTERM') {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return p.done;
      p.child.kill(signal);
      const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      const r = await p.done;
      clearTimeout(t);
      return r;
    },
  };
}

/** CPU time (user + system) of a process and its threads so far, ms (/proc/<pid>/stat, USER_HZ = 100). */
export function cpuMsOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/** CPU time the whole machine spent busy so far, ms (/proc/stat: user nice system irq softirq steal). */
export function machineBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10;
  } catch {
    return null;
  }
}

export function median(xs) {
  const s = [...xs].filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(xs, q) {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Median, min, max and the spread (max − min) relative to the median. */
export function summarize(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  const m = median(v);
  const min = v.length ? Math.min(...v) : null;
  const max = v.length ? Math.max(...v) : null;
  return { median: m, min, max, n: v.length, spreadPct: m ? ((max - min) / Math.abs(m)) * 100 : null, values: v };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: os.cpus().length,
    cpu,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    pinning: PINNING ? 'server on core 0, load generator on core 1 (taskset)' : 'none (taskset or a second core missing)',
  };
}

/** Formats a number for the table: 3 significant digits, thousands separated. */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (typeof x !== 'number') return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

/**
 * Runs the load generator (bench/load.mjs) pinned to the load core against `url`; samples the
 * server's CPU time over the measured phase (after the warm-up). Resolves with the load result and
 * `serverCpuPct` (100 = one core busy the whole time).
 */
export async function runLoad(url, serverPid, options) {
  const p = spawnNode(path.join(benchDir, 'load.mjs'), [JSON.stringify({ url, ...options })], { core: LOAD_CORE });
  let c0 = null;
  let m0 = null;
  let l0 = null;
  let t0 = 0;
  p.child.stdout.on('data', () => {
    if (c0 === null && p.out().includes('"phase":"measure"')) {
      c0 = cpuMsOf(serverPid);
      l0 = cpuMsOf(p.child.pid);
      m0 = machineBusyMs();
      t0 = performance.now();
    }
  });
  let l1 = null;
  // The load generator's CPU just before it exits (its own figure covers only its main thread).
  p.child.stdout.on('data', () => {
    if (l1 === null && /"ok":/.test(p.out())) l1 = cpuMsOf(p.child.pid);
  });
  const r = await p.done;
  const c1 = cpuMsOf(serverPid);
  const m1 = machineBusyMs();
  const t1 = performance.now();
  if (r.code !== 0) throw new Error(`load generator failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
  const line = r.stdout.trim().split('\n').at(-1);
  const res = JSON.parse(line);
  res.serverCpuPct = c0 !== null && c1 !== null ? ((c1 - c0) / (t1 - t0)) * 100 : null;
  // What the rest of the machine used meanwhile (other processes), in % of all cores.
  const loadMs = l0 !== null && l1 !== null ? l1 - l0 : (res.loadCpuPct / 100) * (t1 - t0);
  res.otherCpuPct = m0 !== null && m1 !== null && c0 !== null ? Math.max(0, ((m1 - m0 - (c1 - c0) - loadMs) / ((t1 - t0) * os.cpus().length)) * 100) : null;
  return res;
}
