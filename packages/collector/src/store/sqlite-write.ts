/**
 * The SQLite store's write path, inside the transaction write() opens (sqlite.ts): per report the
 * idempotency lookup, the sample and its steps; per agent and hour of the batch one rollup upsert;
 * per agent of the batch one latest state and document (its newest record by the guest's own
 * order, replacesLatest). Keeps what it looks up again and again: agent id → key, and each agent's
 * current static-parts version. The store clears both when the tables may have changed under it
 * (a rollback, another connection's commit, prune forgetting an agent).
 */
import { encodeChecks, encodeStatus, hexToInt32 } from './codes.js';
import { encodeReportId, reportIdHash32 } from './sqlite-report-id.js';
import type { LatestIndex } from './sqlite-latest-index.js';
import { HourRollups } from './hour-rollups.js';
import { boolInt, CHECK_COLUMNS, insertSample, lastSeenAfter, replacesLatest, sampleParams, type Statements } from './sqlite-sql.js';
import { PLACED_BY, type SampleRecord, type WriteOutcome } from './types.js';

/** The latest-state rows' change counter: a row's version says whether a cached copy of it is current. */
export class RowVersions {
  constructor(private n = 0) {}

  next(): number {
    return ++this.n;
  }

  /** Go on above `m` (another connection's highest), so that no (agent, version) names two rows. */
  atLeast(m: number): void {
    if (m > this.n) this.n = m;
  }
}

export class SqliteBatchWriter {
  private readonly agentKeys = new Map<string, number>();
  private readonly currentStatic = new Map<number, { hash: string; key: number }>();

  constructor(
    private readonly s: Statements,
    private readonly latest: LatestIndex,
    private readonly versions: RowVersions,
  ) {}

  /** The key of an agent this connection has written, without a read (undefined: not known here). */
  knownKey(agentId: string): number | undefined {
    return this.agentKeys.get(agentId);
  }

  /** Forgets what it kept (the tables may have changed under it). */
  clear(): void {
    this.agentKeys.clear();
    this.currentStatic.clear();
  }

  /** Forgets one agent (prune removed it). */
  forget(agentKey: number, agentId: string): void {
    this.agentKeys.delete(agentId);
    this.currentStatic.delete(agentKey);
  }

  private agentKey(agentId: string, seenMs: number): number {
    let key = this.agentKeys.get(agentId);
    if (key !== undefined) return key;
    key = this.s.agentByKey.get(agentId) as number | undefined;
    if (key === undefined) key = Number(this.s.insertAgent.run(agentId, Math.round(seenMs)).lastInsertRowid);
    this.agentKeys.set(agentId, key);
    return key;
  }

  private staticKey(agentKey: number, r: SampleRecord): number {
    const cur = this.currentStatic.get(agentKey);
    if (cur && cur.hash === r.staticHash) return cur.key;
    let key = this.s.findStatic.get(agentKey, r.staticHash) as number | undefined;
    if (key === undefined) {
      key = Number(this.s.insertStatic.run(agentKey, r.staticHash, Math.round(r.atMs), JSON.stringify(r.staticParts)).lastInsertRowid);
    }
    this.currentStatic.set(agentKey, { hash: r.staticHash, key });
    return key;
  }

  /**
   * Writes one batch (inside the transaction). Samples and steps are written per record; the
   * rollups are aggregated per agent and hour, and the latest state and documents per agent (its
   * newest record of the batch), so a spool flush of 500 reports of one agent updates them once.
   */
  write(records: readonly SampleRecord[]): WriteOutcome[] {
    const outcomes: WriteOutcome[] = [];
    const rollups = new HourRollups();
    const newest = new Map<number, { r: SampleRecord; staticKey: number; lastSeen: number }>();
    const order = (r: SampleRecord) => ({ seq: r.seq, instanceId: r.instanceId, guestEpochMs: r.guestEpochMs });
    for (const r of records) {
      const contentH = hexToInt32(r.contentHash);
      const rid = encodeReportId(r.reportId);
      const ridH = reportIdHash32(r.reportId);
      const same = this.s.findReport.get(contentH, ridH, rid) as number | undefined;
      if (same !== undefined) {
        outcomes.push(same ? 'duplicate' : 'conflict');
        continue;
      }
      const agentKey = this.agentKey(r.agentId, r.receivedAtMs);
      const staticKey = this.staticKey(agentKey, r);
      const atMs = Math.round(r.atMs);
      insertSample(
        this.s,
        sampleParams({
          agentKey,
          atMs,
          receivedAtMs: Math.round(r.receivedAtMs),
          guestEpochMs: r.guestEpochMs,
          seq: r.seq,
          rid,
          ridH,
          contentH,
          staticKey,
          status: encodeStatus(r.status),
          checks: encodeChecks(r.checks),
          placedBy: PLACED_BY.indexOf(r.placedBy),
          ntpSync: boolInt(r.ntpSynchronized),
          steps: r.steps.length,
          offsetMs: r.offsetMs,
          uncertaintyMs: r.uncertaintyMs,
          rtcOffsetS: r.rtcOffsetS,
          ntpOffsetMs: r.ntpOffsetMs,
          ntpLastSyncS: r.ntpLastSyncAgeS,
        }),
      );
      for (const st of r.steps) this.s.insertStep.run(agentKey, Math.round(st.atMs), st.stepMs);

      rollups.add(agentKey, atMs, r.status, r.offsetMs, r.uncertaintyMs);

      const lastSeen = Math.round(r.receivedAtMs);
      const cur = newest.get(agentKey);
      if (!cur) newest.set(agentKey, { r, staticKey, lastSeen });
      else {
        cur.lastSeen = Math.max(cur.lastSeen, lastSeen);
        if (replacesLatest(order(r), order(cur.r))) {
          cur.r = r;
          cur.staticKey = staticKey;
        }
      }
      outcomes.push('stored');
    }
    for (const ru of rollups.values()) {
      this.s.upsertRollup.run(ru.agentKey, ru.hourMs, ru.n, ru.nOffset, ru.offsetMin, ru.offsetMax, ru.offsetSum, ru.uncMax, ru.nCompliant, ru.dtSumMs, ru.dtSqSumMs2, ru.dtOffsetSumMs2);
    }
    for (const [agentKey, { r, staticKey, lastSeen }] of newest) this.writeLatest(agentKey, r, staticKey, lastSeen);
    return outcomes;
  }

  private writeLatest(agentKey: number, r: SampleRecord, staticKey: number, lastSeen: number): void {
    // The order of the row it would replace, from memory (no read per agent per batch).
    const cur = this.latest.get(agentKey);
    if (cur && !replacesLatest({ seq: r.seq, instanceId: r.instanceId, guestEpochMs: r.guestEpochMs }, { seq: cur.seq, instanceId: cur.instanceId, guestEpochMs: cur.guestMs })) {
      // An older report delivered late (from a spool): history gets it, the latest state keeps the
      // newer one, but the agent was still heard from now.
      const version = this.versions.next();
      this.s.touchLatest.run({ lastSeen, version, agentKey });
      this.latest.set(agentKey, { ...cur, lastSeenMs: lastSeenAfter(cur.lastSeenMs, lastSeen), version });
      return;
    }
    const version = this.versions.next();
    const checks = CHECK_COLUMNS.map(({ id }) => r.checks[id] ?? null);
    // In the order of LATEST_UPSERT_PARAMS (sqlite-sql.ts).
    this.s.upsertLatest.run(
      agentKey,
      r.agentId,
      r.hostname,
      r.systemUuid,
      JSON.stringify(r.labels),
      lastSeen,
      Math.round(r.atMs),
      r.intervalS,
      r.staleAfterMs,
      r.baseStatus,
      ...checks,
      r.offsetMs,
      r.uncertaintyMs,
      r.rtcOffsetS,
      r.clocksource,
      r.timezone,
      boolInt(r.ntpSynchronized),
      r.seq,
      r.reportId,
      staticKey,
      r.receivedAtMs,
      boolInt(r.measurement.hostSynchronized),
      version,
      r.guestEpochMs,
      r.instanceId,
      r.hostResolutionMs,
    );
    this.s.upsertDocs.run(agentKey, r.reportJson);
    this.latest.set(agentKey, {
      seq: r.seq,
      instanceId: r.instanceId,
      guestMs: r.guestEpochMs,
      base: r.baseStatus,
      checks,
      agentId: r.agentId,
      hostname: r.hostname,
      version,
      lastSeenMs: lastSeenAfter(cur?.lastSeenMs, lastSeen),
      staleAfterMs: r.staleAfterMs,
    });
  }
}
