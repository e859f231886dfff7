#!/usr/bin/env node
// Measures the agent's footprint in its run-forever mode against a minimal local collector:
// CPU per cycle (utime+stime of the agent process from /proc/<pid>/stat, averaged over many
// cycles because the kernel accounts CPU in ticks), RSS (VmRSS / VmHWM) and processes started
// per cycle (from the agent's debug log).
//
//   node packages/agent/scripts/measure-footprint.mjs [--agent FILE] [--cycles 30] [--node-arg X]... [-- agent args]
//
// Linux only (reads /proc). Default agent: packages/agent/bundle/clockwatch-agent.mjs if built,
// else packages/agent/dist/cli.js.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const nodeArgs = args.flatMap((a, i) => (args[i - 1] === '--node-arg' ? [a] : []));
const extra = args.includes('--') ? args.slice(args.indexOf('--') + 1) : [];
const bundle = path.join(here, '../bundle/clockwatch-agent.mjs');
const agentFile = opt('--agent', existsSync(bundle) ? bundle : path.join(here, '../dist/cli.js'));
const cycles = Number(opt('--cycles', '30'));
const warmup = 5;

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = JSON.parse(Buffer.concat(chunks).toString() || 'null');
  res.setHeader('content-type', 'application/json');
  if (req.url === '/v1/time') return res.end(JSON.stringify({ t1: body.t1, t2: Date.now(), t3: Date.now() }));
  const reports = Array.isArray(body) ? body : [body];
  const results = reports.map((r) => ({ reportId: r.reportId, agentId: r.agent.id, stored: true, duplicate: false, offsetMs: null, uncertaintyMs: null, rtcOffsetS: null, verdict: { status: 'unknown', checks: [], rules: [] } }));
  res.end(JSON.stringify({ accepted: results.length, results }));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;
const spool = mkdtempSync(path.join(os.tmpdir(), 'cw-measure-'));
const child = spawn(process.execPath, [...nodeArgs, agentFile, '--collector', url, '--interval', '1', '--spool', spool, '--log-level', 'debug', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
const lines = [];
child.stderr.on('data', (d) => lines.push(...d.toString().split('\n').filter((l) => l.includes('cycle seq'))));

const ticks = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (proc(5) fields 14, 15)
};
const status = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
let exited = false;
child.on('exit', () => (exited = true));
const waitCycles = async (n) => {
  const deadline = Date.now() + (n + 10) * 3000;
  while (lines.length < n) {
    if (exited || Date.now() > deadline) {
      console.error(`the agent ${exited ? 'exited' : 'stalled'} after ${lines.length} cycles`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
};
await waitCycles(warmup);
const t0 = ticks();
const c0 = lines.length;
await waitCycles(c0 + cycles);
const t1 = ticks();
const c1 = lines.length;
const rss = status('VmRSS');
const hwm = status('VmHWM');
child.kill('SIGTERM');
await new Promise((r) => child.on('close', r));
server.close();
rmSync(spool, { recursive: true, force: true });
const hz = 100; // USER_HZ: /proc/<pid>/stat counts in 1/100 s on Linux
const spawns = lines.slice(c0, c1).map((l) => Number(/(\d+) process/.exec(l)?.[1] ?? 0));
console.log(JSON.stringify({
  agent: path.relative(process.cwd(), agentFile),
  nodeArgs,
  cycles: c1 - c0,
  cpuMsPerCycle: Number(((((t1 - t0) / hz) * 1000) / (c1 - c0)).toFixed(2)),
  rssMiB: Number(rss.toFixed(1)),
  peakRssMiB: Number(hwm.toFixed(1)),
  spawnsPerCycle: Math.max(...spawns),
}));
