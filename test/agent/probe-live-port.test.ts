/**
 * The time exchange while the collector's time port connection stays open between cycles: the
 * main-URL warm-up is skipped (7 requests instead of 8), the samples still come from a warm
 * connection and the offset still lies within the stated uncertainty; when the time listener goes
 * away the exchange starts over on the main URL. A real collector (its fastify app and its time
 * listener thread) on 127.0.0.1:0 and the real Agent.
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:net';
import { Client } from 'undici';
import { Agent, AnchoredWallClock, createReplayRunner, loadConfig, runTimeExchange, silentLogger } from '@clockwatch/agent';
import { startTimeService } from '@clockwatch/collector';
import { measureSamples, type TimeProbeSection } from '@clockwatch/shared';
import { appWith } from '../collector/helpers.js';
import { commandsDir, fixtureRoot } from './helpers/paths.js';

async function collectorWithTimePort(t: Test) {
  const ts = await startTimeService({ host: '127.0.0.1', port: 0 });
  const c = await appWith({ timePort: () => ts.port });
  let mainTime = 0;
  c.app.addHook('onRequest', async (req) => {
    if (req.url.endsWith('/v1/time')) mainTime++;
  });
  const url = await c.app.listen({ host: '127.0.0.1', port: 0 });
  let tsOpen = true;
  t.teardown(async () => {
    await c.close();
    if (tsOpen) await ts.close();
  });
  return {
    url,
    ts,
    mainTime: () => mainTime,
    async closeTimeListener() {
      tsOpen = false;
      await ts.close();
    },
  };
}

const withinUncertainty = (t: Test, p: TimeProbeSection, what: string) => {
  t.ok('samples' in p, `${what}: samples`);
  if (!('samples' in p)) return;
  const m = measureSamples(p.samples, Math.max(p.resolutionMs ?? 0.001, 0.001))!;
  // Same clock on both sides; each side's anchor adds a fraction of a millisecond.
  t.ok(Math.abs(m.offsetMs) <= m.uncertaintyMs + 0.2, `${what}: offset ${m.offsetMs.toFixed(3)} ms within ±${m.uncertaintyMs.toFixed(3)} ms (+ anchors)`);
};

t.test('runTimeExchange with a live time connection: no main-URL request, samples on the time port', async (t) => {
  const c = await collectorWithTimePort(t);
  const main = new Client(c.url);
  const time = new Client(`http://127.0.0.1:${c.ts.port}`);
  t.teardown(async () => {
    await main.close();
    await time.close();
  });
  const clock = new AnchoredWallClock();
  const first = await runTimeExchange({ dispatcher: main, clock, samples: 6, timeDispatcher: () => time });
  t.equal(c.mainTime(), 1, 'the first exchange learns the port from the main URL');
  t.equal(c.ts.answered(), 7, 'then its warm-up and 6 samples on the time port');
  withinUncertainty(t, first, 'first');
  t.ok(time.stats.connected, 'the time connection stays open');

  const second = await runTimeExchange({ dispatcher: main, clock, samples: 6, timeDispatcher: () => time, liveTimePort: () => ({ port: c.ts.port, dispatcher: time }) });
  t.equal(c.mainTime(), 1, 'no main-URL request while the time connection is open');
  t.equal(c.ts.answered(), 14, 'a warm-up and 6 samples on the time port');
  t.ok('samples' in second && second.samples.length === 6, '6 samples');
  withinUncertainty(t, second, 'second');

  // The "live" connection is to a port nobody listens on any more: the exchange starts over on the main URL.
  const gone = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  const dead = new Client(`http://127.0.0.1:${gone}`);
  t.teardown(() => dead.close());
  const third = await runTimeExchange({ dispatcher: main, clock, samples: 4, timeDispatcher: () => time, liveTimePort: () => ({ port: gone, dispatcher: dead }) });
  t.equal(c.mainTime(), 2, 'the main URL is asked again');
  t.equal(c.ts.answered(), 19, 'and names the time port again: warm-up and 4 samples there');
  withinUncertainty(t, third, 'after the fallback');
});

t.test('the Agent: 7 requests a cycle while the time connection lives; the main URL again when the listener goes', async (t) => {
  const c = await collectorWithTimePort(t);
  const r = loadConfig({ argv: ['--collector', c.url, '--root', fixtureRoot('no-rtc'), '--spool', t.testdir(), '--id', 'live-port', '--samples', '6'], env: {}, readFile: () => '' });
  if (r.kind !== 'config') throw new Error('config');
  const agent = await Agent.create({ config: r.config, run: createReplayRunner(commandsDir('none')), log: silentLogger });
  t.teardown(() => agent.close());
  const counts: Array<[number, number]> = [];
  for (let i = 0; i < 3; i++) {
    const m0 = c.mainTime();
    const t0 = c.ts.answered();
    const st = await agent.cycle(Date.now() + 10_000);
    t.equal(st.delivery?.status, 'done', `cycle ${i + 1} delivered`);
    counts.push([c.mainTime() - m0, c.ts.answered() - t0]);
  }
  t.same(counts, [[1, 7], [0, 7], [0, 7]], 'per cycle: main-URL requests, time-port requests');

  await c.closeTimeListener();
  const m0 = c.mainTime();
  const st = await agent.cycle(Date.now() + 10_000);
  t.equal(st.delivery?.status, 'done');
  t.equal(c.mainTime() - m0, 7, 'the listener gone: warm-up and 6 samples on the main URL');
});
