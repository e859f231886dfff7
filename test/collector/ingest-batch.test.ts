/**
 * The group commit writes a batch of reports in one transaction with the latest state and the
 * document once per agent and the rollups once per (agent, hour) (store/sqlite-write.ts SqliteBatchWriter.write).
 * Whatever the batch holds, the tables must be exactly what writing the same reports one write()
 * at a time gives: two reports of one agent in order and out of order, a new agent life whose
 * guest clock stepped back, an older report of the old life delivered late, two reports in one
 * hour and two across an hour edge, a resend (duplicate) in the same batch.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { HOUR_MS, type Report } from '@clockwatch/shared';
import { openSqliteStore, type SampleRecord, type SqliteStore } from '@clockwatch/collector';
import { makeReport, recordOf } from './helpers.js';

/** A whole hour, 30 minutes in: room on both sides. */
const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;

function report(agentId: string, seq: number, atMs: number, more: { instanceId?: string; steps?: { atMs: number; stepMs: number }[]; offsetMs?: number } = {}): Report {
  const r = makeReport({ agentId, seq, atMs, reportId: `${agentId}-${more.instanceId ?? 'i'}-${seq}-${atMs}`, offsetMs: more.offsetMs, steps: more.steps });
  if (more.instanceId !== undefined) r.agent.instanceId = more.instanceId;
  return r;
}

/** Every table the write path fills, in a stable order; `version` is a change counter (one per write of a row), not content. */
function dump(store: SqliteStore): Record<string, unknown[]> {
  const all = (sql: string) => store.db.prepare(sql).all();
  const latest = all('SELECT * FROM agent_latest ORDER BY agent_key') as Record<string, unknown>[];
  for (const row of latest) delete row.version;
  return {
    agents: all('SELECT * FROM agents ORDER BY agent_key'),
    latest,
    docs: all('SELECT * FROM agent_docs ORDER BY agent_key'),
    rollups: all('SELECT * FROM rollups ORDER BY agent_key, hour_ms'),
    samples: all('SELECT * FROM samples ORDER BY agent_key, at_ms, tie'),
    steps: all('SELECT * FROM steps ORDER BY agent_key, at_ms'),
    statics: all('SELECT * FROM statics ORDER BY static_key'),
  };
}

t.test('one batch gives the rows that one write per report gives', async (t) => {
  const dir = t.testdir();
  const recv = H + 2 * HOUR_MS;
  // What both stores hold before: one report of each agent (so the batch updates existing rows).
  const before: SampleRecord[] = ['in-order', 'out-of-order', 'new-life', 'hour-edge', 'resend'].map((id, i) =>
    recordOf(report(id, 1, H + 60_000 * (i + 1), { instanceId: 'life-1' }), recv - HOUR_MS),
  );
  const dup = recordOf(report('resend', 2, H + 30 * 60_000 + 5, { instanceId: 'life-1' }), recv);
  const batch: SampleRecord[] = [
    // Two of one agent in order, in one hour.
    recordOf(report('in-order', 2, H + 30 * 60_000, { instanceId: 'life-1', offsetMs: 3 }), recv),
    recordOf(report('in-order', 3, H + 31 * 60_000, { instanceId: 'life-1', offsetMs: 5 }), recv + 1),
    // Out of order: the newer (seq 3) arrives first; the latest state must stay seq 3, last seen the later receipt.
    recordOf(report('out-of-order', 3, H + 32 * 60_000, { instanceId: 'life-1' }), recv),
    recordOf(report('out-of-order', 2, H + 31 * 60_000, { instanceId: 'life-1' }), recv + 2),
    // A new life whose guest clock stepped back by a minute, then a late report of the old life.
    recordOf(report('new-life', 1, H + 40 * 60_000, { instanceId: 'life-2', steps: [{ atMs: H + 40 * 60_000 - 1000, stepMs: -60_000 }] }), recv),
    recordOf(report('new-life', 7, H + 39 * 60_000, { instanceId: 'life-1' }), recv + 3),
    // Across an hour edge: two rollups of one agent.
    recordOf(report('hour-edge', 2, H + HOUR_MS - 1000, { instanceId: 'life-1', offsetMs: -4 }), recv),
    recordOf(report('hour-edge', 3, H + HOUR_MS + 1000, { instanceId: 'life-1', offsetMs: 6 }), recv + 1),
    // A resend in the same batch: stored once, the second a duplicate.
    dup,
    dup,
    // An agent first seen in this batch.
    recordOf(report('fresh', 1, H + 45 * 60_000, { instanceId: 'life-1' }), recv),
  ];

  const batched = openSqliteStore({ path: join(dir, 'batched.db') });
  const single = openSqliteStore({ path: join(dir, 'single.db') });
  t.teardown(async () => {
    await batched.close();
    await single.close();
  });
  await batched.write(before);
  for (const r of before) await single.write([r]);

  const outcomes = await batched.write(batch);
  const one: string[] = [];
  for (const r of batch) one.push(...(await single.write([r])));
  t.same(outcomes, one, 'the same outcome per report');
  t.same(outcomes.filter((o) => o === 'duplicate').length, 1, 'the resend is a duplicate');

  const a = dump(batched);
  const b = dump(single);
  for (const table of Object.keys(a)) t.same(a[table], b[table], `${table}: the same rows`);

  // The rows are what the rules say, not merely equal to each other.
  const latest = (id: string) => (a.latest as Record<string, unknown>[]).find((r) => r.agent_id === id) as Record<string, unknown>;
  t.equal(latest('in-order').seq, 3, 'in order: the last one');
  // Every column from its own field of the newest record (the upsert's parameters are positional).
  const newest = batch[1] as SampleRecord;
  const row = latest('in-order');
  t.same(
    [row.report_id, row.hostname, row.at_ms, row.recv_ms, row.guest_ms, row.offset_ms, row.uncertainty_ms, row.rtc_offset_s, row.base_status, row.stale_after_ms, row.interval_s, row.clocksource, row.timezone, row.instance_id, row.host_res_ms, row.ntp_sync],
    [newest.reportId, newest.hostname, Math.round(newest.atMs), newest.receivedAtMs, newest.guestEpochMs, newest.offsetMs, newest.uncertaintyMs, newest.rtcOffsetS, newest.baseStatus, newest.staleAfterMs, newest.intervalS, newest.clocksource, newest.timezone, newest.instanceId, newest.hostResolutionMs, newest.ntpSynchronized === null ? null : Number(newest.ntpSynchronized)],
    'the latest row holds the newest record, column by column',
  );
  t.equal((a.docs as { agent_key: unknown; report: string }[]).find((d) => d.agent_key === row.agent_key)?.report, newest.reportJson, 'and its document is the report as received');
  t.equal(latest('out-of-order').seq, 3, 'out of order: the newer by seq');
  t.equal(latest('out-of-order').last_seen_ms, recv + 2, 'but last seen at the later receipt');
  t.equal(latest('new-life').instance_id, 'life-2', 'the new life, whose clock went back, is the latest');
  const edge = (a.rollups as Record<string, unknown>[]).filter((r) => r.agent_key === latest('hour-edge').agent_key);
  t.same(edge.map((r) => [r.hour_ms, r.n]), [[H, 2], [H + HOUR_MS, 1]], 'the hour edge splits the rollups');
  const inOrder = (a.rollups as Record<string, unknown>[]).find((r) => r.agent_key === latest('in-order').agent_key) as Record<string, unknown>;
  t.same([inOrder.n, inOrder.n_offset], [3, 3], 'two of one hour add to the hour already stored');

  // Each rollup column from its own sum over the records of that hour (positional parameters again).
  const edgeRecords = [before[3], batch[6], batch[7]] as SampleRecord[];
  const firstHour = edgeRecords.filter((r) => r.atMs < H + HOUR_MS);
  const offsets = firstHour.map((r) => r.offsetMs as number);
  const dts = firstHour.map((r) => Math.round(r.atMs) - H);
  const r0 = edge[0] as Record<string, unknown>;
  t.same(
    [r0.n_offset, r0.offset_min, r0.offset_max, r0.offset_sum, r0.unc_max, r0.n_compliant, r0.dt_sum_ms, r0.dt_sq_sum_ms2, r0.dt_offset_sum_ms2],
    [
      2,
      Math.min(...offsets),
      Math.max(...offsets),
      offsets[0]! + offsets[1]!,
      Math.max(...firstHour.map((r) => r.uncertaintyMs as number)),
      firstHour.filter((r) => r.status === 'compliant').length,
      dts[0]! + dts[1]!,
      dts[0]! ** 2 + dts[1]! ** 2,
      dts[0]! * offsets[0]! + dts[1]! * offsets[1]!,
    ],
    'the rollup holds the sums of its hour, column by column',
  );
  t.not(offsets[0], offsets[1], 'two different offsets (so min, max and sum tell the columns apart)');

  // The reportId's index key is the first 4 bytes of its SHA-256, as migration 6 keeps it from the files written before.
  const keys = batched.db.prepare('SELECT report_id, rid_h FROM samples').all() as { report_id: string; rid_h: number }[];
  t.ok(keys.length > 0 && keys.every((k) => k.rid_h === createHash('sha256').update(k.report_id).digest().readInt32BE(0)), 'rid_h: the SHA-256 prefix of the reportId');

  // The memory the writer keeps of the latest states agrees with the tables too.
  const nowMs = recv + 10;
  t.same(await batched.summary(nowMs), await batched.countedSummary(nowMs), 'kept summary = counted (batched)');
  t.same(await batched.summary(nowMs), await single.summary(nowMs), 'and the same as one by one');
  for (const id of ['in-order', 'out-of-order', 'new-life', 'fresh']) {
    const x = await batched.getAgent(id, nowMs);
    const y = await single.getAgent(id, nowMs);
    t.same(x, y, `${id}: the same detail`);
  }
});
