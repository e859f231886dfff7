/**
 * What the agent's cycle does more cheaply keeps doing what it did (issue 12 item 5):
 * - the spool's write is synchronous system calls, still temp file, fsync, rename, fsync of the
 *   directory — seen with strace(1) on a real Spool.add in a child process;
 * - a failed durable write leaves no temporary file and the old file intact;
 * - POSTs go through undici's dispatch(): t4 is taken when the answer's headers arrive (before its
 *   body), a 1xx answer is not the answer, a body cut off after the headers is a retry;
 * - a re-anchor that sleeps until just before the predicted edge still measures the edge, also
 *   when the prediction is wrong (the clock stepped).
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'undici';
import { pushReports, runTimeExchange, takeAnchor, AnchoredWallClock } from '@clockwatch/agent';
import { writeFileDurableSync } from '@clockwatch/shared/node';
import { repoRoot } from './helpers/paths.js';
import { tmpdir } from './helpers/tmp.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;

t.test('Spool.add: temp file, fsync, rename, fsync of the directory (strace)', { skip: hasStrace ? false : 'strace is not installed' }, async (t) => {
  const dir = tmpdir(t);
  const spoolDir = path.join(dir, 'spool');
  const script = path.join(dir, 'add.mjs');
  const agentUrl = pathToFileURL(path.join(repoRoot, 'packages/agent/dist/index.js')).href;
  writeFileSync(
    script,
    `import { Spool } from ${JSON.stringify(agentUrl)};
const s = await Spool.open({ dir: ${JSON.stringify(spoolDir)} });
const seq = await s.nextSeq();
process.stderr.write('ADD-START\\n');
await s.add({ schemaVersion: 1, reportId: 'abcdef0123456789', seq, agent: { id: 'a' } });
process.stderr.write('ADD-END\\n');
`,
  );
  const trace = path.join(dir, 'trace.txt');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,write,fsync,fdatasync,rename,renameat,renameat2,close', '-o', trace, process.execPath, script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const all = readFileSync(trace, 'utf8').split('\n');
  const start = all.findIndex((l) => l.includes('ADD-START'));
  const end = all.findIndex((l) => l.includes('ADD-END'));
  t.ok(start >= 0 && end > start, 'markers found');
  const calls = all.slice(start + 1, end).map((l) => l.replace(/^\d+\s+/, ''));
  const tmpOpen = calls.findIndex((l) => /^openat\(.*\.000000000001-abcdef0123456789\.json\.[0-9a-f]+\.tmp".*O_EXCL/.test(l));
  t.ok(tmpOpen >= 0, 'the report goes to a new temporary file first (O_EXCL)');
  const fd = /= (\d+)$/.exec(calls[tmpOpen] ?? '')?.[1];
  const write = calls.findIndex((l, i) => i > tmpOpen && l.startsWith(`write(${fd},`));
  const fsyncFile = calls.findIndex((l, i) => i > write && new RegExp(`^f(data)?sync\\(${fd}\\)`).test(l));
  const closeFile = calls.findIndex((l, i) => i > write && l.startsWith(`close(${fd})`));
  const rename = calls.findIndex((l, i) => i > fsyncFile && /^rename(at2?)?\(.*\.tmp".*000000000001-abcdef0123456789\.json"/.test(l));
  const dirOpen = calls.findIndex((l, i) => i > rename && l.startsWith('openat(') && l.includes(`"${spoolDir}"`));
  const dirFd = /= (\d+)$/.exec(calls[dirOpen] ?? '')?.[1];
  const fsyncDir = calls.findIndex((l, i) => i > dirOpen && new RegExp(`^f(data)?sync\\(${dirFd}\\)`).test(l));
  t.ok(write > tmpOpen, 'written');
  t.ok(fsyncFile > write && fsyncFile < closeFile, 'the file is fsynced (before it is closed and gets its name)');
  t.ok(rename > fsyncFile, 'renamed to its name');
  t.ok(fsyncDir > dirOpen && dirOpen > rename, 'and the directory is fsynced after the rename (the name is durable)');
  t.same(readdirSync(spoolDir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
});

t.test('writeFileDurableSync: a write that fails leaves no temporary file and the old content', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'state.json');
  writeFileDurableSync(file, '{"a":1}');
  t.equal(readFileSync(file, 'utf8'), '{"a":1}');
  writeFileDurableSync(file, '{"a":2}');
  t.equal(readFileSync(file, 'utf8'), '{"a":2}', 'replaced');
  // A directory in the way: rename(2) fails with EISDIR (or ENOTEMPTY); nothing half-done stays.
  const blocked = path.join(dir, 'blocked');
  mkdirSync(path.join(blocked, 'x'), { recursive: true });
  t.throws(() => writeFileDurableSync(blocked, 'data'));
  t.same(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'the temporary file is removed');
  t.equal(readFileSync(file, 'utf8'), '{"a":2}', 'the other file untouched');
});

/** A collector stand-in whose /v1/time answer sends its headers, then its body only once `release` is called. */
async function heldServer(t: Test, onRequest: (res: ServerResponse, url: string) => void) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => onRequest(res, req.url ?? ''));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new Client(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  t.teardown(async () => {
    await client.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return client;
}

t.test('the exchange takes t4 when the headers arrive, before the body; a 1xx answer is not the answer', async (t) => {
  let release: (() => void) | null = null;
  let bodyAfterT4 = 0;
  let bodyByTimeout = 0;
  let nowCalls = 0;
  const client = await heldServer(t, (res) => {
    res.writeProcessing();
    const t2 = 1795606593000.25;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const body = () => res.end(JSON.stringify({ t2, t3: t2 + 0.01 }));
    // The body goes when the agent read its clock after the headers (t4), or after 3 s (an agent
    // that waits for the body before t4 would never release it; the test then fails, not hangs).
    const timer = setTimeout(() => {
      bodyByTimeout++;
      release = null;
      body();
    }, 3000);
    release = () => {
      clearTimeout(timer);
      bodyAfterT4++;
      release = null;
      body();
    };
  });
  const real = new AnchoredWallClock();
  const clock = {
    now: () => {
      nowCalls++;
      const v = real.now();
      // Called with the answer's headers in hand: let the body go.
      if (release) setImmediate(() => release?.());
      return v;
    },
    reanchor: () => real.reanchor(),
    get resolutionMs() {
      return real.resolutionMs;
    },
  };
  const p = await runTimeExchange({ dispatcher: client, clock, samples: 2, timeoutMs: 10_000 });
  t.ok('samples' in p && p.samples.length === 2, JSON.stringify(p));
  t.equal(bodyByTimeout, 0, 'no body had to be sent without t4 taken first');
  t.equal(bodyAfterT4, 3, 'every answer (warm-up + 2 samples) was stamped at its headers');
  t.equal(nowCalls, 6, 't1 and t4 of each, and no stamp for the 102 Processing answers');
});

t.test('a push whose answer breaks off after the headers is a retry that says so', async (t) => {
  const client = await heldServer(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"accepted":');
    setTimeout(() => res.destroy(), 20);
  });
  const o = await pushReports([], { dispatcher: client, timeoutMs: 5000 });
  t.equal(o.kind, 'retry');
  if (o.kind === 'retry') {
    t.equal(o.status, 200, 'the status line had arrived');
    t.match(o.reason, /^reading the answer: /);
  }
});

/** Simulated clocks: true wall = T0 + elapsed; a read costs 0.1 µs; idle waits advance time without reads. */
function simulated(t0: number) {
  let elapsed = 0;
  let wallShift = 0;
  let reads = 0;
  const waits: number[] = [];
  return {
    src: {
      perfNow: () => {
        reads++;
        return (elapsed += 0.0001);
      },
      dateNow: () => {
        reads++;
        return Math.floor(t0 + wallShift + (elapsed += 0.0001));
      },
      idleWaitMs: (ms: number) => {
        waits.push(ms);
        elapsed += ms + 0.05; // woken 50 µs late (timer slack)
      },
    },
    step: (ms: number) => (wallShift += ms),
    wait: (ms: number) => (elapsed += ms),
    reads: () => reads,
    waits,
  };
}

t.test('a re-anchor sleeps until just before the predicted edge, then measures it as before', async (t) => {
  const T0 = 1795606593000.37;
  const sim = simulated(T0);
  const first = takeAnchor(5, sim.src);
  t.equal(sim.waits.length, 0, 'no previous anchor: no prediction, no wait');
  t.ok(Math.abs(first.anchorMs - T0) <= first.errorMs + 1e-6);
  sim.wait(0.3); // somewhere inside a millisecond
  const r0 = sim.reads();
  const again = takeAnchor(5, sim.src, undefined, undefined, first);
  t.equal(sim.waits.length, 1, 'one idle wait');
  t.ok(Math.abs(again.anchorMs - T0) <= again.errorMs + 1e-6, 'the same anchor');
  // Spinning the whole way from 0.3 ms into a millisecond takes ~0.7 ms of reads (~7,000 at
  // 0.1 µs each); after the wait only the last ~0.1 ms is spun (~1,000).
  t.ok(sim.reads() - r0 < 1500, `${sim.reads() - r0} clock reads after the wait`);

  // The clock stepped by 0.6 ms: the prediction is wrong, the measured edge is right.
  sim.step(0.6);
  sim.wait(0.2);
  const stepped = takeAnchor(5, sim.src, undefined, undefined, again);
  t.ok(Math.abs(stepped.anchorMs - (T0 + 0.6)) <= stepped.errorMs + 1e-6, `anchor follows the step: ${stepped.anchorMs - T0}`);

  // The agent's clock uses it on every re-anchor; the collector's (no idleWaitMs) spins as before.
  const clock = new AnchoredWallClock({ sources: sim.src });
  clock.reanchor();
  const n = sim.waits.length;
  sim.wait(0.45);
  clock.reanchor();
  t.equal(sim.waits.length, n + 1, 'AnchoredWallClock.reanchor passes its last anchor');
  t.ok(Math.abs(clock.now() - (T0 + 0.6 + sim.src.perfNow())) < 0.01);
});
