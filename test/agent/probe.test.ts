import t from 'tap';
import { Client } from 'undici';
import { AnchoredWallClock, runTimeExchange } from '@clockwatch/agent';
import { measureSamples } from '@clockwatch/shared';
import { startTestCollector } from './helpers/test-collector.js';

t.test('the exchange: warm-up plus N samples on one kept-alive connection', async (t) => {
  const c = await startTestCollector();
  const client = new Client(c.url);
  t.teardown(async () => {
    await client.close();
    await c.close();
  });
  const clock = new AnchoredWallClock();
  const before = Date.now();
  const p = await runTimeExchange({ dispatcher: client, clock, samples: 8 });
  const after = Date.now();
  t.ok('samples' in p, 'samples');
  if (!('samples' in p)) return;
  t.equal(p.samples.length, 8);
  t.equal(c.timeRequests.length, 9, 'one warm-up, not recorded');
  t.equal(c.connections, 1, 'one connection');
  for (const [i, s] of p.samples.entries()) {
    t.equal(s.t1, c.timeRequests[i + 1]!.t1, 'the collector saw the t1 we kept');
    t.equal(s.t2, c.timeRequests[i + 1]!.t2);
    t.ok(s.t1 <= s.t4, 't1 ≤ t4');
    t.ok(s.t1 >= before - 1 && s.t4 <= after + 1, 'tied to Date.now()');
  }
  t.ok(p.samples.some((s) => s.t1 % 1 !== 0), 'sub-millisecond timestamps');
  t.ok(p.resolutionMs! > 0 && p.resolutionMs! < 1, `resolution ${p.resolutionMs} ms`);
  const m = measureSamples(p.samples, Math.max(p.resolutionMs!, 0.001))!;
  t.ok(Math.abs(m.offsetMs) <= m.uncertaintyMs, `same clock on both sides: offset ${m.offsetMs.toFixed(3)} ms within ±${m.uncertaintyMs.toFixed(3)} ms`);

  const again = await runTimeExchange({ dispatcher: client, clock, samples: 2 });
  t.ok('samples' in again);
  t.equal(c.connections, 1, 'the connection is reused by the next cycle');
});

t.test('a collector that is down or does not speak the protocol: PROBE_FAILED, no samples invented', async (t) => {
  const c = await startTestCollector();
  const url = c.url;
  await c.down();
  const client = new Client(url);
  t.teardown(() => client.close());
  const p = await runTimeExchange({ dispatcher: client, clock: new AnchoredWallClock(), samples: 4, timeoutMs: 2000 });
  t.match(p, { error: { code: 'CW_ERR_PROBE_FAILED', message: /ECONNREFUSED|connect/ } });

  const other = await startTestCollector();
  const c2 = new Client(other.url);
  t.teardown(async () => {
    await c2.close();
    await other.close();
  });
  const p2 = await runTimeExchange({ dispatcher: c2, basePath: '/nowhere', clock: new AnchoredWallClock(), samples: 2 });
  t.match(p2, { error: { code: 'CW_ERR_PROBE_FAILED', message: /404/ } });
});
