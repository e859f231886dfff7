// Child of benchmark 3: the real Agent (packages/agent/dist) runs N collect → spool → deliver
// cycles back to back in this process against a collector, then prints one JSON line: RSS, CPU
// per cycle (process.cpuUsage around each cycle, from the agent's own CycleStats), and processes
// started per cycle — counted twice: by the agent's command runner, and by a hook on
// ChildProcess.prototype.spawn through which every asynchronous child process of Node goes
// (spawnSync/execSync do not; the agent uses none).
//
//   node bench/agent-cycles.mjs '{"collector":"http://127.0.0.1:P","cycles":100,"args":["--root","/"]}'
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, createCommandRunner, createReplayRunner, loadConfig, silentLogger } from '@clockwatch/agent';

let spawned = 0;
const original = ChildProcess.prototype.spawn;
ChildProcess.prototype.spawn = function (...a) {
  spawned++;
  return original.apply(this, a);
};

const o = JSON.parse(process.argv[2]);
const spool = mkdtempSync(path.join(os.tmpdir(), 'cw-bench-agent-'));
const loaded = loadConfig({
  argv: ['--collector', o.collector, '--spool', spool, '--id', o.id ?? 'bench-footprint', '--interval', '60', ...(o.args ?? [])],
  env: {},
  readFile: (f) => readFileSync(f, 'utf8'),
});
const config = loaded.config;
const run = config.replayDir ? createReplayRunner(config.replayDir) : createCommandRunner({ path: process.env.PATH, defaultTimeoutMs: config.timeoutMs });
const agent = await Agent.create({ config, run, env: {}, log: silentLogger, isRoot: process.getuid?.() === 0 });
const spawns0 = spawned;
const runner0 = agent.spawnCount();
const cycles = [];
const wall0 = performance.now();
for (let i = 0; i < o.cycles; i++) {
  const before = spawned;
  const stats = await agent.cycle(Date.now() + 30_000);
  if (stats.delivery?.status !== 'done') throw new Error(`cycle ${i}: delivery ${stats.delivery?.status}: ${stats.delivery?.lastError}`);
  cycles.push({ cpuMs: stats.cpuMs, runnerSpawns: stats.spawns, processSpawns: spawned - before });
}
const wallMs = performance.now() - wall0;
const status = readFileSync('/proc/self/status', 'utf8');
const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
await agent.close();
rmSync(spool, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    cycles: cycles.length,
    wallMsPerCycle: wallMs / cycles.length,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
    vmRssMiB: kib('VmRSS') / 1024,
    peakRssMiB: kib('VmHWM') / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
    cpuMs: cycles.map((c) => c.cpuMs),
    runnerSpawns: cycles.map((c) => c.runnerSpawns),
    processSpawns: cycles.map((c) => c.processSpawns),
    staticSpawns: { runner: runner0, process: spawns0 },
  })}\n`,
);
