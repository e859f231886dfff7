/**
 * Accuracy of POST /v1/time while the collector is busy ingesting.
 *
 * The collector runs as its own process (the real CLI); a second process floods POST /v1/reports
 * over 50 connections; this process does the agent's exchange (bursts of 8 on one kept-alive
 * connection, minimum-delay sample, RFC 5905). Collector and client read the same OS clock, so the
 * true offset is 0: the measured offset must lie within its uncertainty bound (plus the two sub-ms
 * clock anchors' own error), idle and under load. Load may widen the uncertainty; it must not bias
 * the offset beyond it. The numbers are printed as comments.
 *
 * Longer runs: CW_TIME_LOAD_BURSTS=400 npx tap test/collector/time-accuracy.test.ts
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { measureSamples, type Sample } from '@clockwatch/shared';
import { anchoredClock, makeReport, repoRoot } from './helpers.js';

const cli = join(repoRoot, 'packages', 'collector', 'dist', 'cli.js');
const BURSTS = Number(process.env.CW_TIME_LOAD_BURSTS ?? 40);
/** Both processes anchor performance.now() to Date.now(); each anchor is good to ~0.05 ms. */
const ANCHOR_SLACK_MS = 0.2;

function startCollector(t: Test, db: string): Promise<{ url: string; ports: string[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0', '--db', db, '--rate-limit', '0', '--log-level', 'warn'], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Whatever happens to the test, the collector does not outlive it.
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`collector exited ${code}: ${out}`)));
    // The listening line is at info level, below --log-level warn: poll /healthz on the port from
    // the kernel instead of parsing logs.
    const started = Date.now();
    const poll = setInterval(() => {
      void (async () => {
        const { execFileSync } = await import('node:child_process');
        let ports: string[] = [];
        try {
          const ss = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
          const re = new RegExp(`127\\.0\\.0\\.1:(\\d+)\\s.*pid=${child.pid},`, 'g');
          ports = [...ss.matchAll(re)].map((m) => m[1] as string);
        } catch {
          ports = [];
        }
        // Two listeners: the main one and the dedicated time listener (which the main one names).
        if (ports.length >= 2) {
          clearInterval(poll);
          resolve({
            url: '',
            ports,
            stop: () =>
              new Promise<void>((r) => {
                child.removeAllListeners('exit');
                child.on('exit', () => r());
                child.kill('SIGTERM');
              }),
          });
        } else if (Date.now() - started > 15_000) {
          clearInterval(poll);
          reject(new Error(`collector did not listen: ${out}`));
        }
      })();
    }, 100);
  });
}

const FLOOD = `
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
const [url, file] = process.argv.slice(1); // node -e: argv[1] is the first argument
const template = JSON.parse(readFileSync(file, 'utf8'));
const pool = new Pool(url, { connections: 50 });
let i = 0, ok = 0, bad = 0, stop = false;
const t0 = Date.now();
const summary = () => JSON.stringify({ ok, bad, seconds: (Date.now() - t0) / 1000, perSecond: Math.round(ok / ((Date.now() - t0) / 1000)) });
process.on('SIGTERM', () => { process.stdout.write(summary()); process.exit(0); });
async function worker() {
  while (!stop) {
    const n = i++;
    template.reportId = 'flood' + String(n).padStart(10, '0');
    template.seq = n;
    template.agent.id = 'vm-' + (n % 500);
    const res = await pool.request({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json' }, body: JSON.stringify(template) });
    await res.body.text();
    if (res.statusCode === 200) ok++; else bad++;
    if (ok === 200) process.stdout.write('ready\\n');
  }
}
await Promise.all(Array.from({ length: 50 }, worker));
`;

async function bursts(pool: Pool, now: () => number, n: number) {
  const out: { offsetMs: number; uncertaintyMs: number; delayMs: number }[] = [];
  for (let b = 0; b < n; b++) {
    const samples: Sample[] = [];
    for (let i = 0; i < 8; i++) {
      const t1 = now();
      const res = await pool.request({ method: 'POST', path: '/v1/time', headers: { 'content-type': 'application/json' }, body: `{"t1":${t1}}` });
      const body = (await res.body.json()) as { t2: number; t3: number };
      const t4 = now();
      samples.push({ t1, t2: body.t2, t3: body.t3, t4 });
    }
    const m = measureSamples(samples, 0.001);
    if (m) out.push({ offsetMs: m.offsetMs, uncertaintyMs: m.uncertaintyMs, delayMs: m.delayMs });
  }
  return out;
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
};
const fmt = (xs: number[]) => `median ${q(xs, 0.5).toFixed(3)} p95 ${q(xs, 0.95).toFixed(3)} max ${q(xs, 1).toFixed(3)} ms`;

t.test('time exchange stays within its bound while the collector ingests', async (t) => {
  const dir = t.testdir();
  const started = await startCollector(t, join(dir, 'load.db'));
  // The main listener is the one that answers /healthz and names the time port.
  let timePort = '';
  for (const p of started.ports) {
    const probe = new Pool(`http://127.0.0.1:${p}`, { connections: 1 });
    const res = await probe.request({ method: 'POST', path: '/v1/time', headers: { 'content-type': 'application/json' }, body: `{"t1":${Date.now()}}` });
    await res.body.text();
    const named = res.headers['clockwatch-time-port'];
    await probe.close();
    if (typeof named === 'string') {
      started.url = `http://127.0.0.1:${p}`;
      timePort = named;
    }
  }
  t.ok(started.url && started.ports.includes(timePort), `the main listener names the dedicated time port (${timePort}) among the collector's listeners`);
  const c = started;
  const pool = new Pool(c.url, { connections: 1 });
  const timePool = new Pool(`http://127.0.0.1:${timePort}`, { connections: 1 });
  t.teardown(async () => {
    await pool.close();
    await timePool.close();
    await c.stop();
  });
  const now = anchoredClock();
  await bursts(pool, now, 5); // warm up both sides' JIT
  await bursts(timePool, now, 5);

  const idle = await bursts(timePool, now, BURSTS);
  const idleMain = await bursts(pool, now, BURSTS);

  writeFileSync(join(dir, 'report.json'), JSON.stringify(makeReport({ agentId: 'vm-0', atMs: Date.now() })));
  const flooder = spawn(process.execPath, ['--input-type=module', '-e', FLOOD, c.url, join(dir, 'report.json')], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (flooder.exitCode === null) flooder.kill('SIGKILL');
  });
  let floodOut = '';
  const floodDone = new Promise<void>((r) => flooder.on('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    flooder.stdout.on('data', (d: Buffer) => {
      floodOut += d.toString();
      if (floodOut.includes('ready')) resolve();
    });
    void floodDone.then(() => reject(new Error(`the flood process exited early: ${floodOut}`)));
  });
  await ready;
  const loaded = await bursts(timePool, now, BURSTS);
  const loadedMain = await bursts(pool, now, BURSTS);
  flooder.kill('SIGTERM');
  await floodDone;
  const health = await pool.request({ method: 'GET', path: '/v1/compliance' });
  const agents = ((await health.body.json()) as { agents: number }).agents;

  for (const [name, xs] of [
    ['time listener, idle', idle],
    ['time listener, under ingest load', loaded],
    ['main listener, idle', idleMain],
    ['main listener, under ingest load', loadedMain],
  ] as const) {
    t.comment(
      `${name}: ${xs.length} bursts; |offset| ${fmt(xs.map((x) => Math.abs(x.offsetMs)))}; uncertainty ${fmt(xs.map((x) => x.uncertaintyMs))}; ` +
        `min-delay round trip ${fmt(xs.map((x) => x.delayMs))}`,
    );
    const outside = xs.filter((x) => Math.abs(x.offsetMs) > x.uncertaintyMs + ANCHOR_SLACK_MS);
    t.same(outside, [], `${name}: the true offset (0) lies within ±(uncertainty + ${ANCHOR_SLACK_MS} ms) in every burst`);
  }
  t.ok(agents > 0, `the flood was ingested (${agents} agents stored)`);
  t.comment(`flood (50 connections) while measuring: ${floodOut.replace('ready\n', '')}`);
});
