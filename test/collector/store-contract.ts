/**
 * The store contract: what every Store implementation must do, tested through the interface only.
 * store-sqlite.test.ts runs it against SQLite files; a PostgreSQL store runs the same function.
 *
 * The factory gets the test (for its temp dir) and returns a fresh, empty store and a way to close
 * and reopen the same storage.
 */
import type { Test } from 'tap';
import { driftPpm, PLAIN_FIT } from '@clockwatch/shared';
import type { AgentQuery, SampleRecord, Store } from '@clockwatch/collector';
import { makeReport, recordOf } from './helpers.js';

export interface StoreHandle {
  store: Store;
  /** Closes the current store and opens the same storage again. */
  reopen(): Promise<Store>;
}
export type StoreFactory = (t: Test) => Promise<StoreHandle>;

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0); // 2026-11-20T10:00:00Z, on an hour boundary
const WIDE = { fromMs: 0, toMs: 8e12, limit: 100_000 };

/** A record measured at T0 + atOffsetMs, received 100 ms later. */
function rec(agentId: string, atOffsetMs: number, extra: { offsetMs?: number; reportId?: string; seq?: number; hostname?: string; labels?: Record<string, string>; clocksource?: string; intervalS?: number; steps?: { atMs: number; stepMs: number }[] } = {}, overrides: Partial<SampleRecord> = {}): SampleRecord {
  const at = T0 + atOffsetMs;
  const report = makeReport({ agentId, atMs: at, ...extra });
  return recordOf(report, at + 100, overrides);
}

export function storeContract(t: Test, name: string, factory: StoreFactory): void {
  t.test(`${name}: store contract`, async (t) => {
    t.test('write stores a record and the latest state shows it', async (t) => {
      const { store } = await factory(t);
      const r = rec('vm-a', 0, { offsetMs: 12.5, hostname: 'host-a', labels: { site: 'paris' } });
      t.same(await store.write([r]), ['stored']);
      const page = await store.listAgents({ nowMs: T0 + 1000, offset: 0, limit: 10 });
      t.equal(page.total, 1);
      const a = page.rows[0]!;
      t.equal(a.id, 'vm-a');
      t.equal(a.hostname, 'host-a');
      t.same(a.labels, { site: 'paris' });
      t.equal(a.status, 'compliant');
      t.ok(Math.abs((a.offsetMs as number) - 12.5) < 1e-9, `offset ${a.offsetMs}`);
      t.ok((a.uncertaintyMs as number) > 0.2 && (a.uncertaintyMs as number) < 0.21, `uncertainty ${a.uncertaintyMs}`);
      t.equal(a.clocksource, 'kvm-clock');
      t.equal(a.timezone, r.timezone);
      t.equal(a.ntpSynchronized, true);
      t.equal(a.lastSeenMs, Math.round(T0 + 100));
      t.same(a.checks, { clocksource: 'pass', offset: 'pass', rtc: 'pass', timezone: 'pass', ntp: 'pass', reporting: 'pass' });

      const d = await store.getAgent('vm-a', T0 + 1000);
      t.ok(d);
      t.equal(d!.reportId, r.reportId);
      t.equal(d!.seq, r.seq);
      t.same(d!.report, r.report, 'the latest report is kept whole');
      t.equal(d!.receivedAtMs, r.receivedAtMs, 'with its receive time');
      t.equal(d!.hostSynchronized, true, "and the host's NTP state at receipt");
      t.equal(d!.firstSeenMs, Math.round(T0 + 100));
      t.equal(await store.getAgent('nobody', T0), null);
    });

    t.test('idempotent on reportId: same content is a duplicate, different content a conflict', async (t) => {
      const { store } = await factory(t);
      const r = rec('vm-a', 0, { reportId: 'report-0001' });
      t.same(await store.write([r]), ['stored']);
      t.same(await store.write([r]), ['duplicate']);
      const changed = { ...r, contentHash: 'f'.repeat(64), offsetMs: 999 };
      t.same(await store.write([changed]), ['conflict']);
      // In one batch: the second copy sees the first (same transaction).
      const r2 = rec('vm-a', 60_000, { reportId: 'report-0002' });
      t.same(await store.write([r2, r2, { ...r2, contentHash: '0'.repeat(64) }]), ['stored', 'duplicate', 'conflict']);
      const h = await store.history('vm-a', WIDE);
      t.same(h.rows.map((p) => p.reportId), ['report-0001', 'report-0002'], 'each report stored once');
      t.equal(h.rows[0]!.offsetMs, r.offsetMs, 'the conflicting copy changed nothing');
      t.equal((await store.stats()).samples, 2);
    });

    t.test('a failing batch writes nothing', async (t) => {
      const { store } = await factory(t);
      const good = rec('vm-a', 0);
      const bad = { ...rec('vm-b', 0), contentHash: 'not-hex' };
      await t.rejects(store.write([good, bad]));
      t.equal((await store.stats()).samples, 0);
      t.equal((await store.listAgents({ nowMs: T0, offset: 0, limit: 10 })).total, 0);
      t.same(await store.write([good]), ['stored'], 'and the store still works');
    });

    t.test('latest state follows the guest (its seq); late reports go to history only', async (t) => {
      const { store } = await factory(t);
      await store.write([rec('vm-a', 0, { offsetMs: 1, seq: 1 })]);
      await store.write([rec('vm-a', 120_000, { offsetMs: 3, seq: 3 })]);
      let a = (await store.listAgents({ nowMs: T0 + 200_000, offset: 0, limit: 10 })).rows[0]!;
      t.equal(a.offsetMs, 3);
      // A spooled report (seq 2) measured at +60 s arrives at +300 s.
      const late = recordOf(makeReport({ agentId: 'vm-a', atMs: T0 + 60_000, offsetMs: 2, seq: 2 }), T0 + 300_000);
      t.same(await store.write([late]), ['stored']);
      a = (await store.listAgents({ nowMs: T0 + 300_500, offset: 0, limit: 10 })).rows[0]!;
      t.equal(a.offsetMs, 3, 'latest state keeps the newer measurement');
      t.equal(a.lastSeenMs, T0 + 300_000, 'but the agent was heard from');
      const h = await store.history('vm-a', WIDE);
      t.same(h.rows.map((p) => p.offsetMs), [1, 2, 3], 'history in measurement order');
      t.ok(h.rows.every((p, i, all) => i === 0 || p.atMs >= all[i - 1]!.atMs));
    });

    t.test("after the collector's clock stepped back, new reports replace a latest state from its future", async (t) => {
      const { store } = await factory(t);
      // Measured and received while the collector's clock was 30 s ahead.
      await store.write([recordOf(makeReport({ agentId: 'vm-s', atMs: T0 + 30_000, offsetMs: -30_000 }), T0 + 30_100)]);
      // The clock is back: measured at +5 s, received at +5.1 s — before the stored state's measurement.
      await store.write([recordOf(makeReport({ agentId: 'vm-s', atMs: T0 + 5_000, offsetMs: 1 }), T0 + 5_100)]);
      const a = (await store.listAgents({ nowMs: T0 + 6_000, offset: 0, limit: 10 })).rows[0]!;
      t.equal(a.offsetMs, 1, 'the latest state is the new report');
      t.equal(a.lastSeenMs, T0 + 5_100, 'the last delivery is the new one, not one from the future');
      // In one batch too: the newest of the batch by the same rule.
      await store.write([
        recordOf(makeReport({ agentId: 'vm-t', atMs: T0 + 30_000, offsetMs: -30_000 }), T0 + 30_100),
        recordOf(makeReport({ agentId: 'vm-t', atMs: T0 + 5_000, offsetMs: 2 }), T0 + 5_100),
      ]);
      const b = (await store.listAgents({ nowMs: T0 + 6_000, q: 'vm-t', offset: 0, limit: 10 })).rows[0]!;
      t.equal(b.offsetMs, 2);
      // A late spooled report (collected before the latest, an earlier seq, received after it) still does not replace.
      await store.write([recordOf(makeReport({ agentId: 'vm-s', atMs: T0 + 4_000, offsetMs: 7, seq: 0 }), T0 + 9_000)]);
      const c = (await store.listAgents({ nowMs: T0 + 9_500, q: 'vm-s', offset: 0, limit: 10 })).rows[0]!;
      t.equal(c.offsetMs, 1, 'a late report goes to history only');
      t.equal(c.lastSeenMs, T0 + 9_000);
    });

    t.test('status depends on now: stale after the limit, filters, search and paging', async (t) => {
      const { store } = await factory(t);
      const ids = ['vm-c', 'vm-a', 'vm-b', 'db-1'];
      for (const id of ids) await store.write([rec(id, 0, { hostname: `host-${id}`, intervalS: 60 })]);
      // vm-b is noncompliant (wrong clocksource).
      await store.write([rec('vm-b', 1000, { hostname: 'host-vm-b', clocksource: 'tsc' })]);
      // db-1 reports again much later.
      await store.write([rec('db-1', 10 * 60_000)]);

      const at = (ms: number) => store.listAgents({ nowMs: T0 + ms, offset: 0, limit: 100 });
      let page = await at(60_000);
      t.same(page.rows.map((a) => a.id), ['db-1', 'vm-a', 'vm-b', 'vm-c'], 'ordered by id');
      t.same(page.rows.map((a) => a.status), ['compliant', 'compliant', 'noncompliant', 'compliant']);

      // 3 × 60 s after the last delivery (+100 ms, vm-b +1100 ms) they turn stale; db-1 reported at +10 min.
      page = await at(179_000);
      t.same(page.rows.map((a) => a.status), ['compliant', 'compliant', 'noncompliant', 'compliant'], 'not yet');
      page = await at(182_000);
      t.same(page.rows.map((a) => a.status), ['compliant', 'stale', 'stale', 'stale']);
      t.equal(page.rows[1]!.checks.reporting, 'fail');
      t.equal(page.rows[1]!.checks.clocksource, 'pass', 'other checks keep their stored status');

      const stale = await store.listAgents({ nowMs: T0 + 182_000, statuses: ['stale'], offset: 0, limit: 100 });
      t.equal(stale.total, 3);
      const some = await store.listAgents({ nowMs: T0 + 60_000, statuses: ['noncompliant', 'warning'], offset: 0, limit: 100 });
      t.same(some.rows.map((a) => a.id), ['vm-b']);

      const q = await store.listAgents({ nowMs: T0, q: 'HOST-VM', offset: 0, limit: 100 });
      t.same(q.rows.map((a) => a.id), ['vm-a', 'vm-b', 'vm-c'], 'q matches hostname, case-insensitively');
      const q2 = await store.listAgents({ nowMs: T0, q: '%', offset: 0, limit: 100 });
      t.equal(q2.total, 0, 'LIKE wildcards in q are literal');

      const p1 = await store.listAgents({ nowMs: T0, offset: 1, limit: 2 });
      t.equal(p1.total, 4);
      t.same(p1.rows.map((a) => a.id), ['vm-a', 'vm-b']);

      const s = await store.summary(T0 + 182_000);
      t.equal(s.agents, 4);
      t.same(s.byStatus, { compliant: 1, warning: 0, noncompliant: 0, stale: 3, unknown: 0 });
      t.same(s.byCheck.clocksource, { fail: 1, warn: 0, unknown: 0 });
      t.same(s.byCheck.reporting, { fail: 3, warn: 0, unknown: 0 });
    });

    t.test("worst first (sort: 'severity') as of now, bytewise, paged across status boundaries", async (t) => {
      const { store } = await factory(t);
      // [id, hostname, base status, reported at (s after T0)]. With intervalS 60 an agent turns
      // stale 180 s after its last delivery: at +200 s those that reported at 0 are stale.
      const agents: [string, string, 'compliant' | 'noncompliant' | 'warning' | 'unknown', number][] = [
        ['c-4', '\u00e9clair', 'compliant', 150],
        ['n-2', 'Zeta', 'noncompliant', 150],
        ['s-3', 'mid', 'warning', 0],
        ['c-2', 'alpha', 'compliant', 150],
        ['w-1', 'c', 'warning', 150],
        ['n-1', 'alpha', 'noncompliant', 150],
        ['s-1', 'mid', 'compliant', 0],
        ['x-0', 'alpha', 'compliant', 0], // never stale: its reporting check is off
        ['u-1', 'b', 'unknown', 150],
        ['c-3', 'Alpha', 'compliant', 150],
        ['s-2', 'Mid', 'noncompliant', 0],
        ['w-2', 'C', 'warning', 150],
        ['c-1', 'alpha', 'compliant', 150],
      ];
      for (const [id, hostname, base, atS] of agents) {
        const extra = { hostname, intervalS: 60, ...(base === 'noncompliant' ? { clocksource: 'tsc' } : {}) };
        const over: Partial<SampleRecord> = base === 'warning' || base === 'unknown' ? { status: base, baseStatus: base } : {};
        if (id === 'x-0') over.staleAfterMs = null;
        await store.write([rec(id, atS * 1000, extra, over)]);
      }
      const all = async (nowMs: number, more: Partial<AgentQuery> = {}) => {
        const p = await store.listAgents({ nowMs, sort: 'severity', offset: 0, limit: 100, ...more });
        return p.rows.map((a) => a.id);
      };
      // Hostnames compare bytewise: 'Mid' < 'Zeta' < 'alpha' < 'mid' < '\u00e9clair'; equal ones by id.
      const late = ['n-2', 'n-1', 's-2', 's-1', 's-3', 'u-1', 'w-2', 'w-1', 'c-3', 'c-1', 'c-2', 'x-0', 'c-4'];
      t.same(await all(T0 + 200_000), late, 'noncompliant, stale, unknown, warning, compliant; then hostname, id');
      const early = ['s-2', 'n-2', 'n-1', 'u-1', 'w-2', 'w-1', 's-3', 'c-3', 'c-1', 'c-2', 'x-0', 's-1', 'c-4'];
      t.same(await all(T0 + 160_000), early, 'before they turn stale each is ranked by its own status');
      const page = await store.listAgents({ nowMs: T0 + 200_000, sort: 'severity', offset: 0, limit: 3 });
      t.equal(page.total, 13);
      t.same(page.rows.map((a) => a.status), ['noncompliant', 'noncompliant', 'stale'], 'the status is as of now');
      for (const limit of [1, 2, 3, 4, 5]) {
        const ids: string[] = [];
        for (let offset = 0; offset < 13; offset += limit) {
          const p = await store.listAgents({ nowMs: T0 + 200_000, sort: 'severity', offset, limit });
          t.equal(p.total, 13);
          ids.push(...p.rows.map((a) => a.id));
        }
        t.same(ids, late, `pages of ${limit} give the same order`);
      }
      t.same(await all(T0 + 200_000, { offset: 4, limit: 3 }), ['s-3', 'u-1', 'w-2'], 'a page that starts inside one status and ends in the next but one');
      t.same(await all(T0 + 200_000, { offset: 13 }), [], 'past the end');

      const filtered = await store.listAgents({ nowMs: T0 + 200_000, sort: 'severity', statuses: ['warning', 'stale'], offset: 0, limit: 100 });
      t.equal(filtered.total, 5);
      t.same(filtered.rows.map((a) => a.id), ['s-2', 's-1', 's-3', 'w-2', 'w-1'], 'a status filter keeps the order');
      t.same(await all(T0 + 200_000, { statuses: ['warning', 'stale'], offset: 2, limit: 2 }), ['s-3', 'w-2']);
      t.same(await all(T0 + 200_000, { q: 'ALPHA' }), ['n-1', 'c-3', 'c-1', 'c-2', 'x-0'], 'with a search');
      t.same((await store.listAgents({ nowMs: T0 + 200_000, sort: 'id', offset: 0, limit: 100 })).rows.map((a) => a.id), [...late].sort(), "sort: 'id' is by id");
    });

    t.test('label filter: every given label has exactly the given value', async (t) => {
      const { store } = await factory(t);
      const labelled: [string, Record<string, string>, string?][] = [
        ['n-1', { site: 'paris', rack: 'r1' }, 'tsc'],
        ['c-1', { site: 'paris', rack: 'r2' }],
        ['c-2', { site: 'paris' }],
        ['s-1', { site: 'a=b "q"', rack: "it's" }],
        ['w-1', { 'k=v': 'x"y', site: 'paris=' }],
        ['o-1', {}],
      ];
      for (const [id, labels, clocksource] of labelled) await store.write([rec(id, 0, { labels, hostname: `h-${id}`, ...(clocksource ? { clocksource } : {}) })]);
      const ids = async (labels: Record<string, string>, more: Partial<AgentQuery> = {}) => {
        const p = await store.listAgents({ nowMs: T0 + 1000, labels, offset: 0, limit: 100, ...more });
        t.equal(p.total, p.rows.length, `total of ${JSON.stringify(labels)}`);
        return p.rows.map((a) => a.id);
      };
      t.same(await ids({ site: 'paris' }), ['c-1', 'c-2', 'n-1'], 'one label');
      t.same(await ids({ site: 'paris', rack: 'r1' }), ['n-1'], 'two labels: both must match');
      t.same(await ids({ rack: 'r2', site: 'paris' }), ['c-1'], 'in any order');
      t.same(await ids({ site: 'paris', rack: 'r3' }), [], 'one wrong value is no match');
      t.same(await ids({ site: 'par' }), [], 'exact values, not prefixes');
      t.same(await ids({ site: 'PARIS' }), [], 'case counts');
      t.same(await ids({ site: 'a=b "q"' }), ['s-1'], "a value with '=' and quotes");
      t.same(await ids({ site: 'a=b "q"', rack: "it's" }), ['s-1']);
      t.same(await ids({ site: 'a=b' }), []);
      t.same(await ids({ 'k=v': 'x"y' }), ['w-1'], "a key with '='");
      t.same(await ids({ site: 'paris=' }), ['w-1']);
      t.same(await ids({ nope: 'paris' }), [], 'a label the agent does not have');
      t.same(await ids({}), ['c-1', 'c-2', 'n-1', 'o-1', 's-1', 'w-1'], 'no labels: every agent');
      t.same(await ids({ site: 'paris' }, { sort: 'severity' }), ['n-1', 'c-1', 'c-2'], 'with worst first');
      t.same(await ids({ site: 'paris' }, { statuses: ['compliant'] }), ['c-1', 'c-2'], 'with a status filter');
      t.same(await ids({ site: 'paris' }, { q: 'h-c' }), ['c-1', 'c-2'], 'with a search');
      const p = await store.listAgents({ nowMs: T0 + 1000, labels: { site: 'paris' }, offset: 1, limit: 1 });
      t.same([p.total, p.rows.map((a) => a.id)], [3, ['c-2']], 'paged: the total counts the matches');
    });

    t.test('history by time range, latest N first-truncated, in time order', async (t) => {
      const { store } = await factory(t);
      const recs = Array.from({ length: 10 }, (_, i) => rec('vm-a', i * 60_000, { offsetMs: i }));
      t.same(await store.write(recs), Array(10).fill('stored'));
      const all = await store.history('vm-a', WIDE);
      t.equal(all.rows.length, 10);
      t.equal(all.truncated, false);
      const mid = await store.history('vm-a', { fromMs: T0 + 120_000, toMs: T0 + 300_000, limit: 100 });
      t.same(mid.rows.map((p) => p.offsetMs), [2, 3, 4, 5], 'from and to inclusive');
      const last3 = await store.history('vm-a', { fromMs: T0, toMs: T0 + 600_000, limit: 3 });
      t.same(last3.rows.map((p) => p.offsetMs), [7, 8, 9]);
      t.equal(last3.truncated, true);
      const p = all.rows[4]!;
      t.equal(p.atMs, T0 + 240_000);
      t.equal(p.receivedAtMs, T0 + 240_100);
      t.ok(Math.abs(p.guestEpochMs - (T0 + 240_000 + 4)) < 1e-6, 'guest clock = host + offset');
      t.equal(p.status, 'compliant');
      t.same(p.checks, { clocksource: 'pass', offset: 'pass', rtc: 'pass', timezone: 'pass', ntp: 'pass' });
      t.equal(p.ntpSynchronized, true);
      t.same((await store.history('nobody', WIDE)).rows, []);
    });

    t.test('static parts are stored once per change', async (t) => {
      const { store } = await factory(t);
      for (let i = 0; i < 5; i++) await store.write([rec('vm-a', i * 60_000, { offsetMs: i })]);
      let v = await store.staticVersions('vm-a');
      t.equal(v.length, 1, 'five samples, one version');
      t.equal((v[0]!.body.agent as { id: string }).id, 'vm-a');
      t.notOk('systemTime' in v[0]!.body, 'no per-sample values in the static part');
      await store.write([rec('vm-a', 5 * 60_000, { clocksource: 'tsc' })]);
      await store.write([rec('vm-a', 6 * 60_000, { clocksource: 'tsc' })]);
      v = await store.staticVersions('vm-a');
      t.equal(v.length, 2, 'a change adds a version');
      t.equal((v[1]!.body.clocksource as { current: string }).current, 'tsc');
      t.equal(v[1]!.firstSeenMs, T0 + 5 * 60_000);
      await store.write([rec('vm-a', 7 * 60_000)]);
      t.equal((await store.staticVersions('vm-a')).length, 2, 'changing back reuses the stored version');
      t.equal((await store.stats()).statics, 2);
    });

    t.test('hourly rollups: min, max, mean offset, worst uncertainty, share compliant', async (t) => {
      const { store } = await factory(t);
      await store.write([
        rec('vm-a', 0, { offsetMs: 10 }),
        rec('vm-a', 20 * 60_000, { offsetMs: -4 }),
        rec('vm-a', 40 * 60_000, { offsetMs: 30, clocksource: 'tsc' }),
        rec('vm-a', HOUR + 60_000, { offsetMs: 1 }),
      ]);
      // A report without an offset counts as a report, not as a measurement.
      await store.write([rec('vm-a', HOUR + 120_000, {}, { offsetMs: null, uncertaintyMs: null })]);
      const r = await store.rollups('vm-a', { fromMs: T0 + 5 * 60_000, toMs: T0 + 3 * HOUR, limit: 100 });
      t.equal(r.length, 2, 'from is rounded down to its hour');
      const [h0, h1] = r as [(typeof r)[0], (typeof r)[0]];
      t.equal(h0.hourMs, T0);
      t.equal(h0.reports, 3);
      t.equal(h0.measured, 3);
      t.equal(h0.offsetMinMs, -4);
      t.equal(h0.offsetMaxMs, 30);
      t.ok(Math.abs((h0.offsetMeanMs as number) - 12) < 1e-9);
      t.ok((h0.uncertaintyMaxMs as number) > 0.2);
      t.ok(Math.abs(h0.compliantShare - 2 / 3) < 1e-9);
      t.equal(h1.hourMs, T0 + HOUR);
      t.equal(h1.reports, 2);
      t.equal(h1.measured, 1);
      t.equal(h1.offsetMinMs, 1);
      t.equal(h1.offsetMaxMs, 1);
      t.equal(h1.offsetMeanMs, 1);
    });

    t.test('clock steps are kept for drift', async (t) => {
      const { store } = await factory(t);
      await store.write([rec('vm-a', 0, { steps: [{ atMs: T0 - 1000, stepMs: 250 }] })]);
      const s = await store.steps('vm-a', T0 - 10_000, T0);
      t.equal(s.length, 1);
      t.equal(s[0]!.stepMs, 250);
      t.ok(Math.abs(s[0]!.atMs - (T0 - 1000)) <= 1, 'on the host clock');
      t.equal((await store.history('vm-a', WIDE)).rows[0]!.stepCount, 1);
    });

    t.test('prune deletes old samples, keeps rollups longer, forgets long-silent agents', async (t) => {
      const { store } = await factory(t);
      const day = 86_400_000;
      await store.write([rec('vm-a', 0), rec('vm-a', 10 * day), rec('vm-a', 40 * day), rec('vm-old', 0)]);
      const r1 = await store.prune({ samplesBeforeMs: T0 + 35 * day, rollupsBeforeMs: T0 - day });
      t.same(r1, { samples: 3, steps: 0, rollups: 0, agents: 0 });
      t.same((await store.history('vm-a', WIDE)).rows.map((p) => p.atMs), [T0 + 40 * day]);
      t.equal((await store.rollups('vm-a', WIDE)).length, 3, 'rollups outlive samples');
      const r2 = await store.prune({ samplesBeforeMs: T0 + 35 * day, rollupsBeforeMs: T0 + 20 * day });
      t.equal(r2.rollups, 3, "vm-a's two rollups before the cutoff, and vm-old's");
      t.equal(r2.agents, 1, 'vm-old, silent since before the cutoff, is forgotten');
      t.equal(await store.getAgent('vm-old', T0), null);
      t.same(await store.staticVersions('vm-old'), []);
      t.ok(await store.getAgent('vm-a', T0));
      t.same(await store.write([rec('vm-old', 50 * day)]), ['stored'], 'a forgotten agent can come back');
    });

    t.test('periodAgents: the state at the end of a period and its aggregates', async (t) => {
      const { store } = await factory(t);
      const MIN = 60_000;
      // vm-a: every 6 min for an hour, offset growing by 10 ms; the sample at 30 min has the wrong clocksource.
      for (let i = 0; i < 10; i++) await store.write([rec('vm-a', i * 6 * MIN, { offsetMs: i * 10 - 25, intervalS: 60, clocksource: i === 5 ? 'tsc' : undefined })]);
      // vm-b reported only before the period; vm-c only after it.
      await store.write([rec('vm-b', -HOUR, { offsetMs: 3 })]);
      await store.write([rec('vm-c', 2 * HOUR, { offsetMs: 3 })]);
      // vm-d: a clock step of 500 ms in the middle; drift is fitted per segment.
      const stepAt = T0 + 31 * MIN;
      for (let i = 0; i < 12; i++) {
        const at = i * 5 * MIN;
        await store.write([rec('vm-d', at, { offsetMs: 1 + i * 0.05 + (at > 31 * MIN ? 500 : 0), steps: i === 7 ? [{ atMs: stepAt, stepMs: 500 }] : [] })]);
      }
      const progress: [number, number][] = [];
      const period = { fromMs: T0, toMs: T0 + HOUR };
      const recs = await store.periodAgents({ ...period, onProgress: (d, n) => progress.push([d, n]) });
      t.same(recs.map((r) => r.id), ['vm-a', 'vm-b', 'vm-d'], 'agents known by the end of the period, by id');
      t.same(progress[progress.length - 1], [4, 4], 'progress ends at the total');

      const a = recs[0]!;
      t.equal(a.reports, 10);
      t.equal(a.compliantReports, 9);
      t.equal(a.reportsFromRollups, 0);
      t.equal(a.worst?.offsetMs, 65, 'the largest |offset|, signed');
      t.ok(a.worst!.uncertaintyMs > 0.2 && a.worst!.uncertaintyMs < 0.21, 'with its uncertainty');
      t.equal(a.last?.atMs, T0 + 54 * MIN);
      t.equal(a.last?.offsetMs, 65);
      t.equal(a.last?.status, 'compliant');
      t.same(a.last?.checks, { clocksource: 'pass', offset: 'pass', rtc: 'pass', timezone: 'pass', ntp: 'pass' });
      t.equal(a.lastIsLatest, true);
      t.equal(a.lastSeenMs, T0 + 54 * MIN + 100, 'the last delivery');
      t.equal(a.staleAfterMs, 180_000);
      t.equal((a.staticParts?.agent as { id: string }).id, 'vm-a');
      const hist = await store.history('vm-a', { ...period, limit: 1000 });
      const fit = driftPpm(hist.rows.map((p) => ({ atMs: p.atMs, offsetMs: p.offsetMs as number })), [], PLAIN_FIT);
      t.ok(a.drift && fit && Math.abs(a.drift.ppm - fit.ppm) <= 1e-9 * Math.abs(fit.ppm), `drift ${a.drift?.ppm} = driftPpm ${fit?.ppm}`);
      t.equal(a.drift?.points, 10);

      const b = recs[1]!;
      t.equal(b.reports, 0, 'nothing measured in the period');
      t.equal(b.worst, null);
      t.equal(b.drift, null);
      t.equal(b.last?.atMs, T0 - HOUR, 'the state at the end is its last report before it');

      const d = recs[2]!;
      const dh = await store.history('vm-d', { ...period, limit: 1000 });
      const dfit = driftPpm(dh.rows.map((p) => ({ atMs: p.atMs, offsetMs: p.offsetMs as number })), [stepAt], PLAIN_FIT);
      t.ok(d.drift && dfit && Math.abs(d.drift.ppm - dfit.ppm) < 1e-9, `a step splits the fit: ${d.drift?.ppm} = ${dfit?.ppm}`);
      t.ok(Math.abs(d.drift!.ppm - (0.05 / (5 * MIN)) * 1e6) < 1e-4, 'the step is not drift');

      // A period that ends before the latest report: the state of the last report in it.
      const early = await store.periodAgents({ fromMs: T0, toMs: T0 + 30 * MIN });
      const ea = early.find((r) => r.id === 'vm-a')!;
      t.equal(ea.last?.atMs, T0 + 24 * MIN);
      t.equal(ea.lastIsLatest, false);
      t.equal(ea.lastSeenMs, T0 + 24 * MIN + 100, 'the receipt of that report');
      t.equal(ea.reports, 5);
      t.equal(ea.worst?.offsetMs, -25, 'the extreme of the shorter period');
      await t.rejects(store.periodAgents({ fromMs: T0, toMs: T0 }), 'an empty period is refused');

      // Plot points for the agents the caller picks.
      const withSeries = await store.periodAgents({ ...period, series: { maxPoints: 3, want: (s) => s.id === 'vm-a' } });
      const sa = withSeries.find((r) => r.id === 'vm-a')!;
      t.equal(withSeries.find((r) => r.id === 'vm-d')!.series, undefined, 'only where wanted');
      t.equal(sa.series?.length, 3, 'at most maxPoints');
      t.ok(sa.series!.some((p) => p.offsetMs === 65), 'the extreme survives the buckets');
      t.same(withSeries.map(({ series: _s, ...r }) => r), recs, 'and the rest is the same');
    });

    t.test('periodSeries: raw points when few, per-bucket extremes with a covering band when many', async (t) => {
      const { store } = await factory(t);
      const offsets = [1, 5, -9, 2, 3, 40, 2, 1];
      await store.write(offsets.map((o, i) => rec('vm-a', i * 60_000, { offsetMs: o })));
      const all = await store.periodSeries('vm-a', T0, T0 + 8 * 60_000, 100);
      t.same(all.map((p) => p.offsetMs), offsets, 'every point, in time order');
      t.ok(all.every((p) => p.uncertaintyMs > 0.2 && p.uncertaintyMs < 0.21));
      const four = await store.periodSeries('vm-a', T0, T0 + 8 * 60_000, 4);
      t.same(four.map((p) => p.offsetMs), [5, -9, 40, 2], 'each bucket keeps its largest |offset|');
      // Bucket 0 holds +1 and +5: the point +5 with a band down to 1 − u, so ±(4 + u).
      const u = all[0]!.uncertaintyMs;
      t.ok(Math.abs(four[0]!.uncertaintyMs - (4 + u)) < 0.02, `the band covers the bucket: ${four[0]!.uncertaintyMs}`);
      // Bucket 1 holds −9 and +2: ±(11 + u) around −9.
      t.ok(Math.abs(four[1]!.uncertaintyMs - (11 + u)) < 0.02, `${four[1]!.uncertaintyMs}`);
      t.same(await store.periodSeries('nobody', T0, T0 + HOUR, 10), []);
      t.same(await store.periodSeries('vm-a', T0 + HOUR, T0 + 2 * HOUR, 10), []);
    });

    t.test('periodAgents after pruning: hours without samples count through their rollups', async (t) => {
      const { store } = await factory(t);
      // Every 10 min for 3 h; the worst offset (−50) in the first hour; one wrong clocksource in hour 2.
      const recs = Array.from({ length: 18 }, (_, i) => rec('vm-a', i * 600_000, { offsetMs: i === 2 ? -50 : i, clocksource: i === 14 ? 'tsc' : undefined }));
      await store.write(recs);
      const period = { fromMs: T0, toMs: T0 + 3 * HOUR };
      const before = (await store.periodAgents(period))[0]!;
      t.equal(before.reports, 18);
      t.equal(before.compliantReports, 17);
      t.equal(before.worst?.offsetMs, -50);
      t.equal(before.worst?.fromRollup, false);
      // Samples before 1:30 are pruned; rollups stay.
      await store.prune({ samplesBeforeMs: T0 + 90 * 60_000, rollupsBeforeMs: T0 - HOUR });
      const after = (await store.periodAgents(period))[0]!;
      t.equal(after.reports, 18, 'the same reports');
      t.equal(after.compliantReports, 17);
      t.equal(after.reportsFromRollups, 12, 'hours 0 and 1 from rollups');
      t.equal(after.worst?.offsetMs, -50, 'the worst from the rollup of hour 0');
      t.equal(after.worst?.fromRollup, true, 'marked: its uncertainty is the worst of that hour');
      t.equal(after.drift?.points, 6, 'drift from the samples kept');
    });

    t.test('agent ids belong to the first token that delivers them; rebind moves them; kept across a reopen', async (t) => {
      const h = await factory(t);
      const A = 'a'.repeat(32);
      const B = 'b'.repeat(32);
      t.equal(await h.store.bindAgentsToToken(['vm-1', 'vm-2'], A, { rebind: false, nowMs: T0 }), null, 'A takes vm-1 and vm-2');
      t.equal(await h.store.bindAgentsToToken(['vm-1'], A, { rebind: false, nowMs: T0 }), null, 'A again: fine');
      t.same(await h.store.bindAgentsToToken(['vm-3', 'vm-2'], B, { rebind: false, nowMs: T0 }), { agentId: 'vm-2', ownerFingerprint: A }, 'B cannot take vm-2');
      t.same(await h.store.bindAgentsToToken(['vm-3'], A, { rebind: false, nowMs: T0 }), null, 'and nothing of that refused request was bound: vm-3 is free');
      const store = await h.reopen();
      t.same(await store.bindAgentsToToken(['vm-1'], B, { rebind: false, nowMs: T0 }), { agentId: 'vm-1', ownerFingerprint: A }, 'kept across a reopen');
      t.equal(await store.bindAgentsToToken(['vm-1'], B, { rebind: true, nowMs: T0 }), null, 'rebind moves it');
      t.same(await store.bindAgentsToToken(['vm-1'], A, { rebind: false, nowMs: T0 }), { agentId: 'vm-1', ownerFingerprint: B }, 'to B');
      t.same(store.health(), { ok: true }, 'the store is healthy');
    });

    t.test('reopen serves the same data and keeps idempotency', async (t) => {
      const h = await factory(t);
      const r = rec('vm-a', 0, { reportId: 'persist-0001', offsetMs: 7 });
      await h.store.write([r, rec('vm-a', 60_000, { offsetMs: 8 })]);
      const before = await h.store.history('vm-a', WIDE);
      const store = await h.reopen();
      t.same(await store.history('vm-a', WIDE), before);
      t.equal((await store.getAgent('vm-a', T0))?.reportId, before.rows[1]!.reportId);
      t.same(await store.write([r]), ['duplicate'], 'the reportId is still known');
      t.equal((await store.staticVersions('vm-a')).length, 1);
      await store.write([rec('vm-a', 120_000, { offsetMs: 9 })]);
      t.equal((await store.staticVersions('vm-a')).length, 1, 'no new static version after reopen');
    });
  });
}
