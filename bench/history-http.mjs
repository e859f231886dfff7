// Benchmark: one agent's day over HTTP, `GET /v1/agents/:id/history?…&limit=1440&format=columns`,
// against this checkout's collector (`serve`, pinned like the other benchmarks) on an existing
// database made by bench/store-gen.mjs (its DB.json says the range). `serve` writes to the file
// (it judges every latest state again when it starts): give it a copy, never a database someone
// else is using. One keep-alive connection, requests one after the other:
// - wall time of the first read of an agent and of the same agent at once again, and of /healthz
//   (median over `rounds` agents, the first 5 left out);
// - the server's CPU per request (utime + stime from /proc/PID/stat, over `cpu` requests cycling
//   over 100 agents after a warm-up), history against /healthz.
//
// With --drop, the file's pages are dropped from the page cache first (posix_fadvise DONTNEED
// through GNU dd iflag=nocache, as bench/store-history.mjs does), so the first reads go to the disk.
//
//   node bench/history-http.mjs DB [--rounds 60] [--cpu 400] [--drop]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent as UndiciAgent, request } from 'undici';
import { median, startCollector } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const db = process.argv[2];
const rounds = Number(arg('rounds', 60));
const cpuRequests = Number(arg('cpu', 400));
const meta = JSON.parse(readFileSync(`${db}.json`, 'utf8'));
if (process.argv.includes('--drop')) {
  for (const file of [db, `${db}-wal`]) {
    try {
      execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: 'ignore' });
    } catch {
      // no WAL file
    }
  }
}
const collector = await startCollector({ db, args: ['--rate-limit', '0'] });
const dispatcher = new UndiciAgent({ connections: 1 });
// CLK_TCK is 100 on Linux: fields 14 and 15 of /proc/PID/stat in 10 ms ticks.
const cpuMs = () => {
  const f = readFileSync(`/proc/${collector.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
let bytes = 0;
const get = async (p) => {
  const t0 = performance.now();
  const res = await request(collector.url + p, { dispatcher });
  const body = await res.body.text();
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET ${p}: ${res.statusCode} ${body.slice(0, 300)}`);
  if (p !== '/healthz') bytes = body.length;
  return ms;
};
const history = (i) => `/v1/agents/vm-${String((i * 331 + 7) % meta.agents).padStart(5, '0')}/history?from=${meta.fromMs}&to=${meta.toMs}&limit=1440&format=columns`;
const f = (x) => Number(x.toFixed(2));
try {
  const wall = { first: [], again: [], healthz: [] };
  for (let i = 0; i < rounds; i++) {
    wall.first.push(await get(history(i)));
    wall.again.push(await get(history(i)));
    wall.healthz.push(await get('/healthz'));
  }
  const cpu = {};
  for (const [name, path] of [['history', (i) => history(rounds + (i % 100))], ['healthz', () => '/healthz']]) {
    for (let i = 0; i < 100; i++) await get(path(i));
    const c0 = cpuMs();
    for (let i = 0; i < cpuRequests; i++) await get(path(i));
    cpu[name] = f((cpuMs() - c0) / cpuRequests);
  }
  const out = { db, bytes, wallMs: Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, f(median(v.slice(5)))])), serverCpuMsPerRequest: cpu };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await dispatcher.close();
  await collector.stop();
}
