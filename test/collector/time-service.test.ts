/**
 * The dedicated time listener (its own worker thread and port) and how the agent finds it: the
 * main listener names it in a clockwatch-time-port header, the agent takes its samples there and
 * falls back to the collector URL when the port does not answer.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, request } from 'undici';
import { AnchoredWallClock, runTimeExchange } from '@clockwatch/agent';
import { startTimeService, TIME_PORT_HEADER } from '@clockwatch/collector';
import { measureSamples } from '@clockwatch/shared';
import { appWith, repoRoot } from './helpers.js';

const post = (url: string, body: string) => request(`${url}/v1/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

t.test('the time listener answers the exchange on its own thread, and only the exchange', async (t) => {
  const ts = await startTimeService({ host: '127.0.0.1', port: 0 });
  t.teardown(() => ts.close());
  const url = `http://127.0.0.1:${ts.port}`;
  t.ok(ts.port > 0, `listening on ${ts.port}`);

  const t1 = Date.now() + 0.25;
  const res = await post(url, JSON.stringify({ t1 }));
  const t4 = Date.now() + 1;
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = (await res.body.json()) as { t1: number; t2: number; t3: number };
  t.equal(body.t1, t1, 't1 echoed');
  // Same OS clock on both sides; each side's anchor is good to a fraction of a millisecond.
  t.ok(body.t2 >= t1 - 1 && body.t2 <= body.t3 && body.t3 <= t4 + 1, `t1 ≤ t2 ≤ t3 ≤ t4 (within the anchors): ${t1} ${body.t2} ${body.t3} ${t4}`);
  t.ok(body.t2 % 1 !== 0 || body.t3 % 1 !== 0, 'sub-millisecond timestamps');
  t.equal(ts.answered(), 1, 'counted');

  const bad = await post(url, '{"t1":"now"}');
  t.equal(bad.statusCode, 400);
  t.match(await bad.body.json(), { statusCode: 400, code: 'CW_ERR_VALIDATION' });
  const notJson = await post(url, '{t1');
  t.equal(notJson.statusCode, 400);
  t.match(await notJson.body.json(), { code: 'CW_ERR_BAD_JSON' });
  const big = await post(url, JSON.stringify({ t1, pad: 'x'.repeat(2000) }));
  t.equal(big.statusCode, 413);
  t.match(await big.body.json(), { code: 'CW_ERR_BODY_TOO_LARGE' });
  const other = await request(`${url}/v1/reports`, { method: 'POST', body: '[]' });
  t.equal(other.statusCode, 404, 'no ingest on the time listener');
  t.match(await other.body.json(), { code: 'CW_ERR_ROUTE_NOT_FOUND' });
  const get = await request(`${url}/v1/time`);
  t.equal(get.statusCode, 405);
  await get.body.text();
  t.equal(ts.answered(), 1, 'refusals are not counted as exchanges');
  t.equal(ts.refused(), 5);

  await ts.close();
  await t.rejects(post(url, JSON.stringify({ t1 })), { code: 'ECONNREFUSED' }, 'closed: the port is released');
});

t.test('the main listener names the time port; the agent samples there and falls back when it cannot', async (t) => {
  const ts = await startTimeService({ host: '127.0.0.1', port: 0 });
  let advertised: number | null = ts.port;
  const c = await appWith({ timePort: () => advertised });
  const mainUrl = await c.app.listen({ host: '127.0.0.1', port: 0 });
  const main = new Client(mainUrl);
  const clients: Client[] = [];
  const timeDispatcher = (port: number) => {
    const d = new Client(`http://127.0.0.1:${port}`, { connect: { timeout: 2000 } });
    clients.push(d);
    return d;
  };
  t.teardown(async () => {
    await main.close();
    for (const d of clients) await d.close().catch(() => undefined);
    await c.close();
    await ts.close();
  });

  const res = await post(mainUrl, JSON.stringify({ t1: Date.now() }));
  t.equal(res.headers[TIME_PORT_HEADER], String(ts.port), 'the main /v1/time names the dedicated port');
  await res.body.text();

  const clock = new AnchoredWallClock();
  const failures: number[] = [];
  const before = ts.answered();
  const p = await runTimeExchange({ dispatcher: main, clock, samples: 8, timeDispatcher, onTimePortFailure: (port) => failures.push(port) });
  t.ok('samples' in p && p.samples.length === 8, '8 samples');
  t.equal(ts.answered() - before, 9, 'its warm-up and the 8 samples went to the time listener');
  t.same(failures, []);
  if ('samples' in p) {
    const m = measureSamples(p.samples, Math.max(p.resolutionMs ?? 0.001, 0.001))!;
    t.ok(Math.abs(m.offsetMs) <= m.uncertaintyMs + 0.2, `same clock: offset ${m.offsetMs.toFixed(3)} ms within ±${m.uncertaintyMs.toFixed(3)} ms (+ anchors)`);
  }

  // A port nobody listens on (a firewall, a proxy in front): the samples come from the main URL.
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  advertised = closed;
  const mark = ts.answered();
  const q = await runTimeExchange({ dispatcher: main, clock, samples: 4, timeDispatcher, onTimePortFailure: (port) => failures.push(port) });
  t.ok('samples' in q && q.samples.length === 4, 'still 4 samples');
  t.same(failures, [closed], 'the failure is reported once, with the port');
  t.equal(ts.answered(), mark, 'nothing reached the time listener');

  // No header: the agent never opens a second connection.
  advertised = null;
  const n = clients.length;
  const r = await runTimeExchange({ dispatcher: main, clock, samples: 2, timeDispatcher });
  t.ok('samples' in r && r.samples.length === 2);
  t.equal(clients.length, n, 'no time connection without the header');
});

t.test('serve: a taken --time-listen port and a bad value are named in the error', async (t) => {
  const cli = join(repoRoot, 'packages', 'collector', 'dist', 'cli.js');
  const dir = t.testdir();
  const blocker = createServer();
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
  t.teardown(() => blocker.close());
  const r = spawnSync(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0', '--time-listen', `127.0.0.1:${port}`, '--db', join(dir, 'a.db'), '--log-level', 'warn'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.not(r.status, 0, 'the collector does not start');
  t.match(r.stderr, new RegExp(`--time-listen: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`), r.stderr);
  const bad = spawnSync(process.execPath, [cli, 'serve', '--time-listen', 'nowhere', '--db', join(dir, 'b.db')], { encoding: 'utf8', timeout: 30_000 });
  t.not(bad.status, 0);
  t.match(bad.stderr, /--time-listen: expected HOST:PORT/);
});

t.test('serve --time-listen auto: a taken port + 1 falls back to a free port, named in the header', async (t) => {
  const cli = join(repoRoot, 'packages', 'collector', 'dist', 'cli.js');
  const dir = t.testdir();
  // Two adjacent ports: the first free for the main listener, the second held by someone else.
  let main = 0;
  let blocker: ReturnType<typeof createServer> | null = null;
  for (let i = 0; i < 20 && !blocker; i++) {
    const probe = createServer();
    const p = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise<void>((r) => probe.close(() => r()));
    const b = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      b.once('error', () => resolve(false));
      b.listen(p + 1, '127.0.0.1', () => resolve(true));
    });
    if (ok) [main, blocker] = [p, b];
  }
  t.ok(blocker, 'found a port whose neighbour could be taken');
  t.teardown(() => blocker?.close());
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [cli, 'serve', '--listen', `127.0.0.1:${main}`, '--db', join(dir, 'c.db'), '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 30_000);
    const poll = setInterval(() => {
      if (/"url":"http:\/\/127\.0\.0\.1:\d+"/.test(out)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
  });
  t.match(out, new RegExp(`port ${main + 1} is taken; the time listener took port \\d+`), 'the fallback is logged');
  const res = await post(`http://127.0.0.1:${main}`, JSON.stringify({ t1: Date.now() }));
  await res.body.text();
  const named = Number(res.headers[TIME_PORT_HEADER]);
  t.ok(named > 0 && named !== main + 1, `the header names the port it took (${named})`);
  const direct = await post(`http://127.0.0.1:${named}`, JSON.stringify({ t1: Date.now() }));
  t.equal(direct.statusCode, 200, 'and it answers there');
  await direct.body.text();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});
