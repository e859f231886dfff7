#!/usr/bin/env node
// `npm run bench` (after `tsc -b`): the four benchmarks of issue 6 and the PostgreSQL store beside
// the SQLite store (5, bench/postgres.mjs; one line saying so when PostgreSQL is not installed) in
// one invocation, each against a baseline measured in the same run on the same machine, server
// and load generator on separate cores (taskset) where the machine has two. Prints a markdown table with every target marked met
// or not met, and writes bench/results.json (every round's raw figures) and bench/work/table.md.
//
//   npm run bench                      full run (~15–25 min on 2 cores; the 10,000-agent database is
//                                      generated once into bench/work/ and reused)
//   npm run bench -- --quick           short run (~3 min): fewer, shorter rounds; store at 100/1,000 agents
//   npm run bench -- --only 1,3        some of the benchmarks (1 ingest, 2 time, 3 agent, 4 store, 5 postgres)
//   npm run bench -- --fresh           regenerate the store databases
//   npm run bench -- --readme          also write the table into bench/README.md
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchAgentFootprint } from './agent-footprint.mjs';
import { benchIngest } from './ingest.mjs';
import { benchPostgres } from './postgres.mjs';
import { agentCli, benchDir, collectorCli, fmt, machine, repo, workDir } from './lib.mjs';
import { benchStoreScale } from './store-scale.mjs';
import { benchTimeAccuracy } from './time-accuracy.mjs';

const argv = process.argv.slice(2);
const has = (f) => argv.includes(f);
const valueOf = (f) => {
  const i = argv.findIndex((a) => a === f || a.startsWith(`${f}=`));
  if (i < 0) return null;
  return argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
};
const quick = has('--quick');
const fresh = has('--fresh');
const only = (valueOf('--only') ?? '1,2,3,4,5').split(',').map((s) => s.trim());

for (const f of [collectorCli, agentCli]) {
  if (!existsSync(f)) {
    console.error(`bench: ${path.relative(repo, f)} is missing: run "npx tsc -b" (npm run bench does)`);
    process.exit(1);
  }
}
mkdirSync(workDir, { recursive: true });

const started = new Date();
const m = machine();
const loadBefore = os.loadavg();
const log = (s) => console.error(s);
log(`bench: ${quick ? 'quick' : 'full'} run on ${m.nproc} × ${m.cpu}, node ${m.node}; ${m.pinning}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);

const sections = [
  ['1', 'ingest', () => benchIngest({ quick, log })],
  ['2', 'time', () => benchTimeAccuracy({ quick, log })],
  ['3', 'agent', () => benchAgentFootprint({ quick, log })],
  ['4', 'store', () => benchStoreScale({ quick, fresh, log })],
  ['5', 'postgres', () => benchPostgres({ quick, log })],
];
const results = { started: started.toISOString(), quick, machine: m, loadAverageBefore: loadBefore, command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`, sections: {} };
const rows = [];
const extra = [];
for (const [id, name, fn] of sections) {
  if (!only.includes(id)) continue;
  const t0 = performance.now();
  log(`bench ${id} (${name}) …`);
  try {
    const r = await fn();
    rows.push(...r.rows);
    if (r.markdown) extra.push(r.markdown);
    results.sections[name] = { seconds: (performance.now() - t0) / 1000, rows: r.rows, details: r.details };
  } catch (err) {
    log(`bench ${id} (${name}) failed: ${err.stack ?? err}`);
    rows.push({ section: `${id} ${name}`, figure: 'benchmark failed', value: null, unit: '', target: '', met: false, note: String(err.message ?? err).split('\n')[0] });
    results.sections[name] = { error: String(err.stack ?? err) };
  }
  log(`bench ${id} (${name}) done in ${Math.round(performance.now() - t0)} ms`);
}
results.finished = new Date().toISOString();
results.loadAverageAfter = os.loadavg();

const cell = (s) => String(s).replace(/\|/g, '\\|');
const unit = (r, v) => (v === null || v === undefined ? '–' : `${fmt(v)}${r.unit ? ` ${r.unit}` : ''}`);
const lines = [
  '| # | figure | value | baseline | ratio | target | met |',
  '| --- | --- | ---: | --- | ---: | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${cell(r.section)} | ${cell(r.figure)} | ${cell(unit(r, r.value))} | ${cell(r.baseline === null || r.baseline === undefined ? '–' : `${unit(r, r.baseline)} (${r.baselineLabel})`)} | ${r.ratio === null || r.ratio === undefined ? '–' : `${fmt(r.ratio, 2)}×`} | ${cell(r.target)} | ${r.met === true ? 'met' : r.met === false ? '**not met**' : '–'} |`,
  ),
];
const notes = rows.filter((r) => r.note).map((r) => `- ${cell(r.section)} ${cell(r.figure)}: ${r.note}`);
const busy = loadBefore[0] > 1.5 || results.loadAverageAfter[1] > m.nproc + 0.5;
const machineLine =
  `${m.nproc} vCPU (${m.cpu}), ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}; ${m.pinning}; ` +
  `load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before the run, ${results.loadAverageAfter.map((x) => x.toFixed(2)).join(' ')} after` +
  (busy ? '. **Other work was running on the machine during this run: throughput and latency figures are pessimistic and noisy.**' : '');
const table = `${lines.join('\n')}\n`;
const md = `Command: \`${results.command}\` (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)\n\nMachine: ${machineLine}\n\n${table}\n${extra.map((x) => `${x}\n`).join('')}Notes:\n\n${notes.join('\n')}\n`;

process.stdout.write(`\n${md}`);
writeFileSync(path.join(benchDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
writeFileSync(path.join(workDir, 'table.md'), md);
if (has('--readme')) {
  const readme = path.join(benchDir, 'README.md');
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const begin = '<!-- bench-table:begin -->';
  const end = '<!-- bench-table:end -->';
  const block = `${begin}\n${md}${end}`;
  const next = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block) : `${text}\n${block}\n`;
  writeFileSync(readme, next);
}
log(`bench: wrote bench/results.json and bench/work/table.md${has('--readme') ? ' and bench/README.md' : ''}`);
