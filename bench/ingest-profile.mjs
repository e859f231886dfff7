// Where the ingest path's CPU goes: a checkout's collector (`serve`, its dist CLI, pinned to the
// server core, a fresh database) under `node --cpu-prof`, loaded by bench/load.mjs (50
// connections, reports from 10,000 agents, on the other core) for `seconds`; then the main
// thread's profile folded into the parts of the path, each as a share of the busy samples and
// as µs per report (the profile's busy time over the reports answered). Not part of
// `npm run bench`: a tool for comparing checkouts back to back (the closing notes' profiles).
//
//   node bench/ingest-profile.mjs [--repo DIR]... [--seconds 10]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LOAD_CORE, pinnedCommand, repo as thisRepo, SERVER_CORE, startServer } from './lib.mjs';

const argv = process.argv.slice(2);
const repos = argv.flatMap((a, i) => (a === '--repo' ? [path.resolve(argv[i + 1])] : []));
if (repos.length === 0) repos.push(thisRepo);
const seconds = Number(argv[argv.indexOf('--seconds') + 1] || 10);

/** The parts of the path, by the frames they run under (the first that matches, in this order). */
const PARTS = [
  ['store write (group commit)', (f) => f.url.includes('group-commit')],
  ['body parse (content-type parser, JSON.parse)', (f) => f.url.includes('content-type-parser')],
  ['validation', (f) => f.functionName === 'parse' && f.url.includes('ingest')],
  ['measure and judge (prepare)', (f) => f.functionName === 'prepare' && f.url.includes('ingest')],
  ['reply (writePayload)', (f) => f.functionName === 'writePayload'],
];
const SELF = [
  ['  lone-surrogate walk', (f) => /loneSurrogate|hasLoneSurrogate|lonePath/.test(f.functionName)],
  ['  secure-json-parse', (f) => f.url.includes('secure-json-parse')],
  ['  garbage collector', (f) => f.functionName === '(garbage collector)'],
];

function fold(p, reports) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const usPerSample = (p.endTime - p.startTime) / p.samples.length;
  let busy = 0;
  const part = new Map();
  const self = new Map();
  for (const [id, c] of counts) {
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    busy += c;
    for (const [name, test] of SELF) if (test(f)) self.set(name, (self.get(name) ?? 0) + c);
    let hit = null;
    for (let x = id; x !== undefined && hit === null; x = parent.get(x)) {
      const fx = byId.get(x).callFrame;
      for (const [name, test] of PARTS) if (test(fx)) { hit = name; break; }
    }
    part.set(hit ?? 'the rest (HTTP, fastify, timers, …)', (part.get(hit ?? 'the rest (HTTP, fastify, timers, …)') ?? 0) + c);
  }
  const row = (m) => Object.fromEntries([...m].map(([k, c]) => [k, { share: c / busy, usPerReport: (c * usPerSample) / reports }]));
  return { busyUsPerReport: (busy * usPerSample) / reports, parts: row(part), self: row(self) };
}

async function profile(repoDir) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-iprof-'));
  const server = await startServer(path.join(repoDir, 'packages/collector/dist/cli.js'), ['serve', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'c.db'), '--rate-limit', '0', '--log-level', 'info'], { core: SERVER_CORE, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  let load;
  try {
    const [cmd, args] = pinnedCommand(LOAD_CORE, process.execPath, [path.join(thisRepo, 'bench/load.mjs'), JSON.stringify({ url: server.url, connections: 50, seconds, warmupS: 2, agents: 10_000 })]);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    load = JSON.parse(r.stdout.trim().split('\n').at(-1));
  } finally {
    await server.stop();
  }
  // The main thread's profile is the one with the most samples (workers write their own).
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
  rmSync(dir, { recursive: true, force: true });
  const main = profiles.sort((a, b) => b.samples.length - a.samples.length)[0];
  return { repo: repoDir, rps: load.rps, ...fold(main, load.ok + load.warmupOk) };
}

for (const r of repos) {
  const x = await profile(r);
  console.log(`\n${x.repo}: ${Math.round(x.rps)} reports/s, main thread busy ${x.busyUsPerReport.toFixed(0)} µs a report`);
  for (const [k, v] of [...Object.entries(x.parts), ...Object.entries(x.self)]) console.log(`  ${k.padEnd(48)} ${(100 * v.share).toFixed(1).padStart(5)} %  ${v.usPerReport.toFixed(1).padStart(6)} µs`);
}
