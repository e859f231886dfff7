#!/usr/bin/env node
/**
 * npm start: build if needed, run a collector on 127.0.0.1:7070 (database under ./data) and an
 * agent reporting this machine into it every 10 s, print where to look (the page, the runbooks,
 * the status and export commands, the API), stop both on Ctrl-C.
 * Logs (JSON lines) go to ./data/logs/ so the terminal shows only what matters.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const HOST = '127.0.0.1';
const PORT = 7070;
const BASE = `http://${HOST}:${PORT}`;
const packages = ['shared', 'agent', 'collector'];

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Stale when a build output is missing or any source or tsconfig is newer than its build info. */
function needsBuild() {
  for (const name of packages) {
    const pkg = join('packages', name);
    const info = join(pkg, 'tsconfig.tsbuildinfo');
    if (!existsSync(info) || !existsSync(join(pkg, 'dist', 'index.js'))) return `packages/${name} is not built`;
    const built = statSync(info).mtimeMs;
    if (newestMtime(join(pkg, 'src')) > built || statSync(join(pkg, 'tsconfig.json')).mtimeMs > built) return `packages/${name} changed since its build`;
  }
  for (const cli of ['packages/collector/dist/cli.js', 'packages/agent/dist/cli.js']) if (!existsSync(cli)) return `${cli} is missing`;
  // The fleet page (scripts/build-web.mjs): its index.html is written last.
  const page = 'packages/collector/dist/web/index.html';
  if (!existsSync(page)) return 'the fleet page is not built';
  if (newestMtime('packages/collector/web') > statSync(page).mtimeMs) return 'the fleet page changed since its build';
  return null;
}

const why = needsBuild();
if (why) {
  console.log(`building (${why}): npm run build`);
  const r = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error('build failed');
    process.exit(1);
  }
}

mkdirSync('data/logs', { recursive: true });
const children = [];
let stopping = false;

function start(name, args) {
  const logPath = join('data', 'logs', `${name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`\n${name} stopped unexpectedly (${signal ?? `exit ${code}`}). ${stderr.trim() ? `It said:\n  ${stderr.trim().split('\n').slice(-5).join('\n  ')}` : `See ${logPath}.`}`);
    stop(1);
  });
  children.push({ name, child, logPath });
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  let left = children.filter((c) => c.child.exitCode === null && c.child.signalCode === null).length;
  if (left === 0) process.exit(code);
  for (const { child } of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.once('exit', () => {
      if (--left === 0) process.exit(code);
    });
    child.kill('SIGTERM');
  }
  setTimeout(() => process.exit(code), 10_000).unref();
}
process.on('SIGINT', () => {
  console.log('\nstopping the agent and the collector...');
  stop(0);
});
process.on('SIGTERM', () => stop(0));

async function get(path) {
  try {
    const res = await fetch(`${BASE}${path}`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

async function waitFor(what, check, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !stopping) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

if (await get('/healthz')) {
  console.error(`something already answers on ${BASE}: stop it first (or it is a collector started earlier).`);
  process.exit(1);
}

start('collector', ['packages/collector/dist/cli.js', 'serve', '--listen', `${HOST}:${PORT}`, '--db', './data/clockwatch.db']);
const health = await waitFor('collector', () => get('/healthz'), 20_000);
if (!health) {
  if (!stopping) {
    console.error(`the collector did not come up on ${BASE}; see ${children[0].logPath}`);
    stop(1);
  }
} else {
  start('agent', ['packages/agent/dist/cli.js', '--collector', BASE, '--interval', '10', '--spool', './data/agent-spool']);
  const host = health.host;
  const cli = 'node packages/collector/dist/cli.js';
  // An export needs a period that has ended: the hour up to the moment this was printed.
  const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const startedMs = Date.now();
  console.log(`
clockwatch is running
  collector  ${BASE}   database ./data/clockwatch.db   log ${relative(root, children[0].logPath)}
  agent      reporting this machine every 10 s            log ${relative(root, children[1].logPath)}
  this host's own clock: ${host.synchronized === true ? `NTP-synchronised (${host.daemon})` : host.synchronized === false ? `NOT synchronised (${host.daemon ?? 'no daemon'}): verdicts will say the reference is unreliable` : 'NTP state unknown'}

Look:
  ${BASE}/                  the fleet page (open it in a browser)
  ${BASE}/docs/checks       the runbooks, one per check

In a terminal:
  ${cli} status --url ${BASE}
  ${cli} export --db ./data/clockwatch.db --format html --from ${iso(startedMs - 3_600_000)} --to ${iso(startedMs)} --out ./data/last-hour.html
  curl -s ${BASE}/v1/agents
  curl -s ${BASE}/v1/compliance
  curl -s ${BASE}/metrics
  curl -s ${BASE}/healthz
  curl -s ${BASE}/docs`);
  const first = await waitFor('first report', async () => {
    const list = await get('/v1/agents');
    return list && list.agents.length > 0 ? list.agents[0] : null;
  }, 30_000);
  if (first) {
    const off = first.offsetMs === null ? 'no offset' : `offset ${first.offsetMs.toFixed(3)} ms ±${first.uncertaintyMs.toFixed(3)} ms`;
    console.log(`  curl -s ${BASE}/v1/agents/${encodeURIComponent(first.id)}           # this machine: ${first.status}, ${off}
  curl -s '${BASE}/v1/agents/${encodeURIComponent(first.id)}/history'

Ctrl-C stops both.`);
  } else if (!stopping) {
    console.log(`\n(no report arrived yet: see ${relative(root, children[1]?.logPath ?? 'data/logs/agent.log')})\nCtrl-C stops both.`);
  }
}
