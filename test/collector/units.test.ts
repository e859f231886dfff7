/**
 * Unit tests of the collector's small parts: tokens, option parsing, rate limit, the sub-ms wall
 * clock, group commit batching per event-loop turn.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import {
  AnchoredWallClock,
  bindingAllows,
  GroupCommitter,
  isLoopback,
  matchToken,
  newToken,
  parseTokensText,
  RateLimiter,
  TokenFileError,
  type SampleRecord,
  type Store,
  type WriteOutcome,
} from '@clockwatch/collector';
// Internal modules, imported from the build like the package's own files do.
import { byteSize, duration, listenAddress, parseOptions, positiveNumber, type OptionSpec } from '@clockwatch/shared/node';

t.test('tokens file', async (t) => {
  const a = newToken();
  const b = newToken('web-*');
  const c = newToken('site=paris*');
  const text = `# comment\n\n${a.line}   # trailing comment\n${b.line}\n${c.line}\n${b.line.split(' ')[0]}  db-*\n`;
  const entries = parseTokensText(text);
  t.equal(entries.length, 4);
  t.same(entries.map((e) => e.binding), [
    { kind: 'any' },
    { kind: 'agent', pattern: 'web-*' },
    { kind: 'label', key: 'site', pattern: 'paris*' },
    { kind: 'agent', pattern: 'db-*' },
  ]);
  t.equal(matchToken(entries, a.token).length, 1);
  t.equal(matchToken(entries, b.token).length, 2, 'one token, two bound patterns');
  t.equal(matchToken(entries, `${a.token}x`).length, 0);
  const [, web, site] = entries;
  t.ok(bindingAllows(web!.binding, { id: 'web-01', labels: {} }));
  t.notOk(bindingAllows(web!.binding, { id: 'db-01', labels: {} }));
  t.ok(bindingAllows(site!.binding, { id: 'x', labels: { site: 'paris-2' } }));
  t.notOk(bindingAllows(site!.binding, { id: 'x', labels: { site: 'lyon' } }));
  t.notOk(bindingAllows(site!.binding, { id: 'x', labels: {} }));
  t.throws(() => parseTokensText('sha256:1234\n'), TokenFileError);
  t.throws(() => parseTokensText(`${a.line} web-* db-*\n`), /one pattern per line/);
  t.throws(() => parseTokensText(`# ok\nplaintext-token\n`), /tokens:2: expected 'sha256:/);
  t.not(newToken().token, newToken().token);
  t.ok(a.token.length >= 40, '256 bits, base64url');
});

t.test('loopback addresses', async (t) => {
  for (const a of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '1.127.0.0', '', undefined, '::2']) t.notOk(isLoopback(a), String(a));
});

t.test('option parsing: flags > env > config file > defaults', async (t) => {
  const specs: OptionSpec[] = [
    { key: 'db', flag: 'db', help: '', default: 'default.db', parse: (x) => x },
    { key: 'retentionDays', flag: 'retention-days', help: '', default: 30, parse: positiveNumber },
    { key: 'label', flag: 'label', help: '', parse: (x) => x, repeat: true },
    { key: 'config', flag: 'config', help: '', parse: (x) => x },
  ];
  const dir = t.testdir({ 'c.json': JSON.stringify({ db: 'file.db', 'retention-days': 7 }) });
  const cfg = `${dir}/c.json`;
  t.match(parseOptions(specs, [], {}, 'config').values, { db: 'default.db', retentionDays: 30 });
  t.match(parseOptions(specs, ['--config', cfg], {}, 'config').values, { db: 'file.db', retentionDays: 7 });
  t.match(parseOptions(specs, [], { CLOCKWATCH_CONFIG: cfg, CLOCKWATCH_DB: 'env.db' }, 'config').values, { db: 'env.db', retentionDays: 7 });
  const p = parseOptions(specs, ['--db=flag.db', '--label', 'a', '--label', 'b'], { CLOCKWATCH_DB: 'env.db', CLOCKWATCH_CONFIG: cfg }, 'config');
  t.match(p.values, { db: 'flag.db', retentionDays: 7, label: ['a', 'b'] });
  t.same(p.sources.db, '--db');
  t.match(p.sources.retentionDays, /^retentionDays in /);
  t.throws(() => parseOptions(specs, ['--db', 'a', '--db', 'b'], {}), /--db: given more than once/);
  t.throws(() => parseOptions(specs, ['--retention-days', '0'], {}), /--retention-days: expected a positive number, got '0'/);
});

t.test('value parsers', async (t) => {
  t.equal(duration('24h'), 86_400_000);
  t.equal(duration('1h30m'), 5_400_000);
  t.equal(duration('500ms'), 500);
  t.equal(duration('7d'), 604_800_000);
  for (const bad of ['', '10', 'h', '1x', '-1h', '0s']) t.throws(() => duration(bad), /expected a duration/, `duration '${bad}'`);
  t.equal(byteSize('4MiB'), 4 * 1024 * 1024);
  t.equal(byteSize('512k'), 512 * 1024);
  t.equal(byteSize('1000'), 1000);
  t.throws(() => byteSize('4GB'));
  t.same(listenAddress('127.0.0.1:7070'), { host: '127.0.0.1', port: 7070 });
  t.same(listenAddress('[::1]:0'), { host: '::1', port: 0 });
  t.same(listenAddress(':7070'), { host: '0.0.0.0', port: 7070 });
  for (const bad of ['7070', 'host:', 'host:99999', '::1:7070']) t.throws(() => listenAddress(bad), /expected HOST:PORT/, bad);
});

t.test('rate limiter: token bucket per agent', async (t) => {
  const rl = new RateLimiter({ perMinute: 60, burst: 2 });
  const t0 = 1_000_000;
  t.same(rl.take(['a'], t0), { ok: true });
  t.same(rl.take(['a'], t0), { ok: true });
  const no = rl.take(['a'], t0);
  t.equal(no.ok, false);
  t.equal((no as { retryAfterS: number }).retryAfterS, 1, 'one token per second');
  t.same(rl.take(['a'], t0 + 1000), { ok: true }, 'refilled');
  // Several agents in one request: all or nothing.
  t.same(rl.take(['b', 'c'], t0), { ok: true });
  t.equal(rl.take(['b', 'a'], t0 + 1000).ok, false);
  t.same(rl.take(['b'], t0 + 1000), { ok: true }, 'b lost nothing to the refused request');
  t.same(new RateLimiter({ perMinute: 0 }).take(['a', 'a'], 0), { ok: true }, '0 disables');
});

t.test('anchored wall clock: sub-ms, tied to Date.now()', async (t) => {
  const c = new AnchoredWallClock();
  let fractional = 0;
  for (let i = 0; i < 2000; i++) {
    const d1 = Date.now();
    const w = c.now();
    const d2 = Date.now();
    if (w < d1 - 0.3 || w > d2 + 1.3) t.fail(`read ${w} outside [${d1}, ${d2 + 1})`);
    if (w % 1 !== 0) fractional++;
  }
  t.ok(fractional > 1900, 'sub-millisecond');
  t.ok(c.resolutionMs < 0.5, `anchor error ${c.resolutionMs} ms`);
  t.equal(c.steps, 0, 'no step seen');
  // A wrong anchor (as after a step of the OS clock) is detected on the next read and fixed.
  (c as unknown as { a: { anchorMs: number } }).a.anchorMs += 30_000;
  (c as unknown as { anchoredAt: number }).anchoredAt = performance.now() - 5000;
  const w = c.now();
  t.ok(Math.abs(w - Date.now()) < 2, 're-anchored after the step');
  t.equal(c.steps, 1);
  // A step within a second of the last anchor: the coarse clock answers (Date.now() + 0.5), and
  // the resolution it claims says so (±0.5 ms), not the anchor's µs.
  c.reanchor();
  (c as unknown as { a: { anchorMs: number } }).a.anchorMs += 30_000;
  const coarse = c.now();
  t.equal(coarse % 1, 0.5, 'coarse read');
  t.equal(c.resolutionMs, 0.5, 'claims ±0.5 ms while the step is absorbed');
});

t.test('group commit: one transaction per event-loop turn, replies after it', async (t) => {
  const batches: number[] = [];
  let committed = 0;
  const fake: Pick<Store, 'write'> = {
    async write(records: readonly SampleRecord[]): Promise<WriteOutcome[]> {
      batches.push(records.length);
      committed += records.length;
      return records.map(() => 'stored');
    },
  };
  const gc = new GroupCommitter(fake as Store);
  const rec = (id: string) => ({ reportId: id }) as SampleRecord;
  // Three submissions in one turn (one of two records): one transaction of four.
  const seenCommitted: number[] = [];
  const ps = [gc.submit([rec('a')]), gc.submit([rec('b'), rec('c')]), gc.submit([rec('d')])].map((p) => p.then((o) => (seenCommitted.push(committed), o)));
  t.same(batches, [], 'nothing written synchronously');
  const outs = await Promise.all(ps);
  t.same(batches, [4]);
  t.same(outs.map((o) => o.length), [1, 2, 1], 'each gets its own outcomes');
  t.ok(seenCommitted.every((n) => n === 4), 'every promise settled after the commit');
  // The next turn is another transaction.
  await gc.submit([rec('e')]);
  t.same(batches, [4, 1]);
  await gc.close();
  await t.rejects(gc.submit([rec('f')]), { name: 'CommitterClosedError' });
});
