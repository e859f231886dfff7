/**
 * The PostgreSQL store's write of one batch, inside the transaction write() opened
 * (postgres.ts): a fixed number of statements whatever the batch's size, the rows as arrays
 * (`unnest`). The steps and why they are safe with several collectors writing at once are
 * commented in place; postgres.ts's header counts the round trips.
 */
import type pg from 'pg';
import { encodeChecks, encodeStatus } from './codes.js';
import { HourRollups } from './hour-rollups.js';
import { replacesLatest } from './sqlite-sql.js';
import { PLACED_BY, type SampleRecord, type WriteOutcome } from './types.js';

export async function writeBatchPg(c: pg.PoolClient, records: readonly SampleRecord[], collector: string): Promise<WriteOutcome[]> {
  // 1. Agent keys (one upsert for the batch's distinct agents).
  //    ON CONFLICT DO UPDATE locks each agent's row, also a new one another collector is
  //    inserting (it waits for that COMMIT, then updates the committed row: no unique violation);
  //    rows are taken in agent id order, so two batches never wait on each other in a circle.
  const firstSeen = new Map<string, number>();
  for (const r of records) if (!firstSeen.has(r.agentId)) firstSeen.set(r.agentId, Math.round(r.receivedAtMs));
  const agentOrder = [...firstSeen.keys()].sort();
  const ak = await c.query<{ agent_key: number; agent_id: string }>(
    `INSERT INTO agents (agent_id, first_seen_ms) SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (agent_id) DO UPDATE SET agent_id = excluded.agent_id RETURNING agent_key, agent_id`,
    [agentOrder, agentOrder.map((id) => firstSeen.get(id))],
  );
  const keyOf = new Map(ak.rows.map((r) => [r.agent_id, r.agent_key]));

  // 2. Idempotency: the first copy of each reportId this batch inserts is stored.
  const ins = await c.query<{ report_id: string }>(
    `INSERT INTO report_ids (report_id, content_hash, agent_key, at_ms) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
     ON CONFLICT (report_id) DO NOTHING RETURNING report_id`,
    [records.map((r) => r.reportId), records.map((r) => r.contentHash.toLowerCase()), records.map((r) => keyOf.get(r.agentId)), records.map((r) => Math.round(r.atMs))],
  );
  const inserted = new Set(ins.rows.map((r) => r.report_id));
  const others = records.filter((r) => !inserted.has(r.reportId)).map((r) => r.reportId);
  const known = new Map<string, string>();
  if (others.length > 0) {
    const k = await c.query<{ report_id: string; content_hash: string }>('SELECT report_id, content_hash FROM report_ids WHERE report_id = ANY($1::text[])', [others]);
    for (const r of k.rows) known.set(r.report_id, r.content_hash);
  }
  const outcomes: WriteOutcome[] = [];
  const stored: SampleRecord[] = [];
  const firstHash = new Map<string, string>();
  for (const r of records) {
    const h = r.contentHash.toLowerCase();
    if (inserted.has(r.reportId) && !firstHash.has(r.reportId)) {
      firstHash.set(r.reportId, h);
      stored.push(r);
      outcomes.push('stored');
    } else {
      const was = firstHash.get(r.reportId) ?? known.get(r.reportId);
      outcomes.push(was === h ? 'duplicate' : 'conflict');
    }
  }
  if (stored.length === 0) return outcomes;

  // 3. Static parts, once per distinct version.
  const statics = new Map<string, SampleRecord>();
  for (const r of stored) statics.set(`${keyOf.get(r.agentId)}:${r.staticHash}`, statics.get(`${keyOf.get(r.agentId)}:${r.staticHash}`) ?? r);
  const sv = [...statics.values()];
  const sk = await c.query<{ static_key: number; agent_key: number; hash: string }>(
    `INSERT INTO statics (agent_key, hash, first_seen_ms, body) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])
     ON CONFLICT (agent_key, hash) DO UPDATE SET hash = excluded.hash RETURNING static_key, agent_key, hash`,
    [sv.map((r) => keyOf.get(r.agentId)), sv.map((r) => r.staticHash), sv.map((r) => Math.round(r.atMs)), sv.map((r) => JSON.stringify(r.staticParts))],
  );
  const staticOf = new Map(sk.rows.map((r) => [`${r.agent_key}:${r.hash}`, r.static_key]));
  const staticKey = (r: SampleRecord) => staticOf.get(`${keyOf.get(r.agentId)}:${r.staticHash}`) as number;

  // 4. Samples and steps.
  const col = <T>(f: (r: SampleRecord) => T) => stored.map(f);
  await c.query(
    `INSERT INTO samples (agent_key, at_ms, recv_ms, guest_ms, seq, static_key, status, checks, steps, offset_ms, uncertainty_ms,
       rtc_offset_s, ntp_sync, ntp_offset_ms, ntp_last_sync_s, report_id, placed_by)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::bigint[], $6::bigint[], $7::smallint[], $8::int[],
       $9::smallint[], $10::float8[], $11::float8[], $12::float8[], $13::bool[], $14::float8[], $15::float8[], $16::text[], $17::smallint[])`,
    [
      col((r) => keyOf.get(r.agentId)),
      col((r) => Math.round(r.atMs)),
      col((r) => Math.round(r.receivedAtMs)),
      col((r) => r.guestEpochMs),
      col((r) => r.seq),
      col(staticKey),
      col((r) => encodeStatus(r.status)),
      col((r) => encodeChecks(r.checks)),
      col((r) => r.steps.length),
      col((r) => r.offsetMs),
      col((r) => r.uncertaintyMs),
      col((r) => r.rtcOffsetS),
      col((r) => r.ntpSynchronized),
      col((r) => r.ntpOffsetMs),
      col((r) => r.ntpLastSyncAgeS),
      col((r) => r.reportId),
      col((r) => Math.max(0, PLACED_BY.indexOf(r.placedBy))),
    ],
  );
  const steps = stored.flatMap((r) => r.steps.map((s) => [keyOf.get(r.agentId), Math.round(s.atMs), s.stepMs] as const));
  if (steps.length > 0) {
    await c.query('INSERT INTO steps (agent_key, at_ms, step_ms) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[]) ON CONFLICT DO NOTHING', [
      steps.map((s) => s[0]),
      steps.map((s) => s[1]),
      steps.map((s) => s[2]),
    ]);
  }

  // 5. Hourly rollups, aggregated per agent and hour first (no key twice in one statement).
  const ru = new HourRollups();
  for (const r of stored) ru.add(keyOf.get(r.agentId) as number, Math.round(r.atMs), r.status, r.offsetMs, r.uncertaintyMs);
  const rv = [...ru.values()];
  await c.query(
    `INSERT INTO rollups AS o (agent_key, hour_ms, n, n_offset, offset_min, offset_max, offset_sum, unc_max, n_compliant)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int[])
     ON CONFLICT (agent_key, hour_ms) DO UPDATE SET n = o.n + excluded.n, n_offset = o.n_offset + excluded.n_offset,
       offset_min = least(o.offset_min, excluded.offset_min), offset_max = greatest(o.offset_max, excluded.offset_max),
       offset_sum = CASE WHEN o.offset_sum IS NULL THEN excluded.offset_sum WHEN excluded.offset_sum IS NULL THEN o.offset_sum ELSE o.offset_sum + excluded.offset_sum END,
       unc_max = greatest(o.unc_max, excluded.unc_max), n_compliant = o.n_compliant + excluded.n_compliant`,
    [rv.map((x) => x.agentKey), rv.map((x) => x.hourMs), rv.map((x) => x.n), rv.map((x) => x.nOffset), rv.map((x) => x.offsetMin), rv.map((x) => x.offsetMax), rv.map((x) => x.offsetSum), rv.map((x) => x.uncMax), rv.map((x) => x.nCompliant)],
  );

  // 6. Latest state: each agent's newest record of the batch by the guest's own order (its seq,
  //    its life, its clock: sqlite-sql.ts replacesLatest), if it is newer than the stored one;
  //    then every agent of the batch was heard from (its last delivery). The stored rows are
  //    locked (FOR UPDATE) so two collectors writing the same agent decide one after the other.
  const order = (r: SampleRecord) => ({ seq: r.seq, instanceId: r.instanceId, guestEpochMs: r.guestEpochMs });
  const newest = new Map<number, { r: SampleRecord; lastSeen: number }>();
  for (const r of stored) {
    const a = keyOf.get(r.agentId) as number;
    const cur = newest.get(a);
    const seen = Math.round(r.receivedAtMs);
    if (!cur) newest.set(a, { r, lastSeen: seen });
    else {
      cur.lastSeen = Math.max(cur.lastSeen, seen);
      if (replacesLatest(order(r), order(cur.r))) cur.r = r;
    }
  }
  const current = await c.query<{ agent_key: number; seq: number; instance_id: string | null; guest_ms: number | null }>(
    'SELECT agent_key, seq, instance_id, guest_ms FROM agent_latest WHERE agent_key = ANY($1::bigint[]) FOR UPDATE',
    [[...newest.keys()]],
  );
  const replaced = new Map(newest);
  for (const x of current.rows) {
    const n = newest.get(x.agent_key);
    if (n && !replacesLatest(order(n.r), { seq: x.seq, instanceId: x.instance_id, guestEpochMs: x.guest_ms })) replaced.delete(x.agent_key);
  }
  const lv = [...replaced.entries()];
  const L = <T>(f: (r: SampleRecord, a: number, seen: number) => T) => lv.map(([a, x]) => f(x.r, a, x.lastSeen));
  if (lv.length > 0) await c.query(
    `INSERT INTO agent_latest (agent_key, agent_id, hostname, system_uuid, labels, last_seen_ms, at_ms, interval_s, stale_after_ms,
       base_status, checks, offset_ms, uncertainty_ms, rtc_offset_s, clocksource, timezone, ntp_sync, seq, report_id, static_key,
       recv_ms, host_sync, collector, report, guest_ms, instance_id, host_res_ms)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::float8[],
       $9::float8[], $10::text[], $11::jsonb[], $12::float8[], $13::float8[], $14::float8[], $15::text[], $16::text[], $17::bool[],
       $18::bigint[], $19::text[], $20::bigint[], $21::float8[], $22::bool[], $23::text[], $24::text[], $25::float8[], $26::text[], $27::float8[])
     ON CONFLICT (agent_key) DO UPDATE SET
       hostname = excluded.hostname, system_uuid = excluded.system_uuid, labels = excluded.labels,
       last_seen_ms = CASE WHEN agent_latest.last_seen_ms > excluded.last_seen_ms THEN excluded.last_seen_ms ELSE greatest(agent_latest.last_seen_ms, excluded.last_seen_ms) END,
       at_ms = excluded.at_ms, interval_s = excluded.interval_s, stale_after_ms = excluded.stale_after_ms,
       base_status = excluded.base_status, checks = excluded.checks, offset_ms = excluded.offset_ms,
       uncertainty_ms = excluded.uncertainty_ms, rtc_offset_s = excluded.rtc_offset_s, clocksource = excluded.clocksource,
       timezone = excluded.timezone, ntp_sync = excluded.ntp_sync, seq = excluded.seq, report_id = excluded.report_id,
       static_key = excluded.static_key, recv_ms = excluded.recv_ms, host_sync = excluded.host_sync,
       collector = excluded.collector, report = excluded.report, guest_ms = excluded.guest_ms,
       instance_id = excluded.instance_id, host_res_ms = excluded.host_res_ms`,
    [
      L((_, a) => a),
      L((r) => r.agentId),
      L((r) => r.hostname),
      L((r) => r.systemUuid),
      L((r) => JSON.stringify(r.labels)),
      L((_, __, s) => s),
      L((r) => Math.round(r.atMs)),
      L((r) => r.intervalS),
      L((r) => r.staleAfterMs),
      L((r) => r.baseStatus),
      L((r) => JSON.stringify(r.checks)),
      L((r) => r.offsetMs),
      L((r) => r.uncertaintyMs),
      L((r) => r.rtcOffsetS),
      L((r) => r.clocksource),
      L((r) => r.timezone),
      L((r) => r.ntpSynchronized),
      L((r) => r.seq),
      L((r) => r.reportId),
      L(staticKey),
      L((r) => r.receivedAtMs),
      L((r) => r.measurement.hostSynchronized),
      L(() => collector),
      L((r) => r.reportJson),
      L((r) => r.guestEpochMs),
      L((r) => r.instanceId),
      L((r) => r.hostResolutionMs),
    ],
  );
  // The agents whose latest state stays (the batch held only older reports) were still heard
  // from; the replaced ones got their last delivery above (one row version per agent, not two).
  const kept = [...newest.entries()].filter(([a]) => !replaced.has(a));
  if (kept.length > 0) {
    await c.query(
      `UPDATE agent_latest l SET last_seen_ms = CASE WHEN l.last_seen_ms > v.seen THEN v.seen ELSE greatest(l.last_seen_ms, v.seen) END
       FROM unnest($1::bigint[], $2::bigint[]) AS v(agent_key, seen) WHERE l.agent_key = v.agent_key`,
      [kept.map(([a]) => a), kept.map(([, x]) => x.lastSeen)],
    );
  }
  return outcomes;
}
