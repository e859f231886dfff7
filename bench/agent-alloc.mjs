// What an agent cycle allocates on the JavaScript heap, and where (bench/README.md "Agent CPU"):
// every byte allocated is a byte the scavenger has to sweep, and the scavenges run outside the
// cycle. Not part of `npm run bench`; a tool for comparing checkouts.
//
//   node bench/agent-alloc.mjs [--repo DIR]... [--cycles 20]
//
// Per checkout: its collector (dist CLI, a fresh database in a temp dir), and a child with that
// checkout's agent CLI's V8 settings (agent-v8-flags.mjs) that runs 5 warm-up cycles, then
// `--cycles` cycles under V8's sampling heap profiler (inspector HeapProfiler.startSampling, every
// 256 bytes on average, objects the scavenger or the mark-compactor collected included). Prints
// KiB allocated per cycle and the functions (with their callees) that allocated most.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { leanV8Flags } from './agent-v8-flags.mjs';
import { LOAD_CORE, pinnedCommand, repo as thisRepo, SERVER_CORE, startServer, trackChild } from './lib.mjs';


if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await parent();

async function parent() {
  const argv = process.argv.slice(2);
  const repos = argv.flatMap((a, i) => (a === '--repo' ? [path.resolve(argv[i + 1])] : []));
  if (repos.length === 0) repos.push(thisRepo);
  const cycles = Number(argv[argv.indexOf('--cycles') + 1] || 20) || 20;
  for (const r of repos) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'cw-alloc-'));
    const collector = await startServer(path.join(r, 'packages/collector/dist/cli.js'), ['serve', '--listen', '127.0.0.1:0', '--db', path.join(tmp, 'c.db'), '--log-level', 'info'], { core: SERVER_CORE });
    try {
      const spec = JSON.stringify({ repoDir: r, collector: collector.url, spool: path.join(tmp, 'spool'), cycles });
      const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, [...leanV8Flags(r), path.join(thisRepo, 'bench/agent-alloc.mjs'), '--child', spec]);
      const c = trackChild(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      const code = await new Promise((res) => c.on('close', res));
      if (code !== 0) throw new Error(`alloc child for ${r} exited ${code}`);
      console.log(`## ${r}\n${out}`);
    } finally {
      await collector.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

async function child(o) {
  const { Session } = await import('node:inspector/promises');
  const { Agent, createCommandRunner, loadConfig, silentLogger } = await import(pathToFileURL(path.join(o.repoDir, 'packages/agent/dist/index.js')).href);
  const { config } = loadConfig({ argv: ['--collector', o.collector, '--spool', o.spool, '--id', 'alloc', '--interval', '60', '--root', '/'], env: {}, readFile: (f) => readFileSync(f, 'utf8') });
  const agent = await Agent.create({ config, run: createCommandRunner({ path: process.env.PATH, defaultTimeoutMs: config.timeoutMs }), env: {}, log: silentLogger });
  for (let i = 0; i < 5; i++) await agent.cycle(Date.now() + 30_000);
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let i = 0; i < o.cycles; i++) {
    const st = await agent.cycle(Date.now() + 30_000);
    if (st.delivery?.status !== 'done') throw new Error(`delivery ${st.delivery?.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const { profile } = await s.post('HeapProfiler.stopSampling');
  await agent.close();
  const total = new Map();
  let sum = 0;
  const walk = (node, stack) => {
    const cf = node.callFrame;
    const name = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(packages|node_modules)\//, '$1/').replace('file://', '')}:${cf.lineNumber + 1}`;
    const st = stack.includes(name) ? stack : [...stack, name];
    sum += node.selfSize;
    for (const k of st) total.set(k, (total.get(k) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c, st);
  };
  walk(profile.head, []);
  const kib = (b) => (b / o.cycles / 1024).toFixed(1).padStart(7);
  const lines = [`${kib(sum)} KiB allocated per cycle (${o.cycles} cycles), by function with its callees:`];
  for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).filter(([k]) => /packages\/|undici/.test(k)).slice(0, 25)) lines.push(`${kib(v)}  ${k}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
