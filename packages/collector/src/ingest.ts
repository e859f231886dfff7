/**
 * The ingest path: validate with the shared schema, recompute offset, uncertainty and rtcOffsetS
 * from the raw samples, evaluate the policy, hand the records to the group committer and answer
 * once they are committed.
 *
 * A request body is one report (an object) or an array of reports from a spool:
 * - one report: an invalid one is answered 400 with its code; a reportId stored with different
 *   content 409 CW_ERR_REPORT_CONFLICT; otherwise 200 with one result.
 * - an array: every report is stored or rejected on its own (all-or-nothing per report). The
 *   answer is 200 with `results` for the accepted ones (stored or duplicate, request order) and
 *   `rejected` naming each refused one by its index in the array, its reportId when readable, and a
 *   stable code. Rejections are permanent (the report is wrong, resending will not help), so the
 *   agent drops every reportId it finds in either list and keeps the rest for a later attempt.
 *   Request-level failures (auth 401/403, rate limit 429, body 400/413/415, store 503) write
 *   nothing and answer the whole request.
 */
import {
  isOk,
  validateReport,
  type IngestRejection,
  type IngestResult,
  type Report,
  type ReportMeasurement,
} from '@clockwatch/shared';
import { reportJson, sha256Hex } from './canonical.js';
import { reportTexts } from './raw-json.js';
import type { Compliance } from './compliance.js';
import { codeOf, HttpError } from './errors.js';
import { CommitterClosedError, type GroupCommitter } from './group-commit.js';
import { DatabaseGoneError } from './store/file-identity.js';
import type { HostClock } from './host-clock.js';
import type { PlacedBy, SampleRecord, Store, WriteOutcome } from './store/types.js';

/** A report of an array refused on its own (shared schema IngestRejectionSchema). */
export type { IngestRejection };

export interface IngestAnswer {
  accepted: number;
  results: IngestResult[];
  rejected: IngestRejection[];
}

export interface IngestDeps {
  committer: GroupCommitter;
  compliance: Compliance;
  hostClock: HostClock;
  /** Where the agent's last measured offset is found after a restart (placing reports without a time probe). */
  store?: Pick<Store, 'lastMeasuredOffset'>;
  /** Resolution of the host's t2/t3 timestamps, ms. */
  /** Resolution of the host's t2/t3 timestamps, ms; a function when it changes (a clock answering coarsely after a step). */
  hostResolutionMs: number | (() => number);
  maxBatch: number;
  onOutcome?: (outcome: WriteOutcome | 'rejected', code?: string) => void;
}

export interface ValidReport {
  index: number;
  report: Report;
  /** The report's text as received (whitespace outside strings removed; raw-json.ts): what is hashed and stored. */
  json?: string;
}

/** The parts of a report that rarely change: stored once per change, not once per sample. */
export function staticPartsOf(report: Report): Record<string, unknown> {
  const { spool: _spool, ...agent } = report.agent;
  const rtc = report.rtc;
  const rtcStatic = isOk(rtc)
    ? { device: rtc.device, source: rtc.source, mode: rtc.mode, modeSource: rtc.modeSource, modeSources: rtc.modeSources }
    : rtc;
  const ntp = report.ntp;
  const ntpStatic = isOk(ntp) ? { daemon: ntp.daemon, server: ntp.server, statusError: ntp.statusError ?? null } : ntp;
  return {
    schemaVersion: report.schemaVersion,
    agent,
    os: report.os,
    clocksource: report.clocksource,
    rtc: rtcStatic,
    timezone: report.timezone,
    ntp: ntpStatic,
  };
}

/** Deep equality of two parsed JSON values (objects compared as maps). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!(k in y) || !sameJson(x[k], y[k])) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}

export class Ingestor {
  /** The last static parts seen per agent: unchanged ones (nearly all) are not serialised or hashed again. */
  private readonly statics = new Map<string, { hash: string; parts: Record<string, unknown> }>();

  constructor(private readonly deps: IngestDeps) {}

  private staticOf(report: Report): { parts: Record<string, unknown>; hash: string } {
    const parts = staticPartsOf(report);
    const last = this.statics.get(report.agent.id);
    // A walk over the parts (no allocation) instead of their JSON text: the same parts, the same version.
    if (last && sameJson(last.parts, parts)) return last;
    const entry = { hash: sha256Hex(JSON.stringify(parts)).slice(0, 32), parts };
    if (this.statics.size >= 100_000) this.statics.clear();
    this.statics.set(report.agent.id, entry);
    return entry;
  }

  /**
   * Splits a body into valid reports and rejections. Throws for a body that is not a report or an
   * array of them. `raw`: the body's text, whose pieces are hashed and stored as each report's
   * JSON (absent: each report is serialised).
   */
  parse(body: unknown, raw?: string): { single: boolean; valid: ValidReport[]; rejected: IngestRejection[] } {
    const single = !Array.isArray(body);
    const items: unknown[] = single ? [body] : (body as unknown[]);
    if (!single && items.length === 0) throw new HttpError('VALIDATION', 'the array holds no reports');
    if (items.length > this.deps.maxBatch) {
      throw new HttpError('BATCH_TOO_LARGE', `${items.length} reports in one request; the limit is ${this.deps.maxBatch}: send them in smaller arrays`);
    }
    const valid: ValidReport[] = [];
    const rejected: IngestRejection[] = [];
    const texts = raw === undefined ? null : reportTexts(raw, items.length);
    items.forEach((item, index) => {
      const v = validateReport(item);
      if (v.ok) {
        valid.push(texts ? { index, report: v.report, json: texts[index] as string } : { index, report: v.report });
        return;
      }
      const rid = (item as { reportId?: unknown } | null)?.reportId;
      const rejection: IngestRejection = {
        index,
        reportId: typeof rid === 'string' ? rid.slice(0, 64) : null,
        statusCode: 400,
        code: v.code,
        message: single ? v.message : `reports[${index}]: ${v.message}`,
      };
      rejected.push(rejection);
      this.deps.onOutcome?.('rejected', v.code);
    });
    if (single && rejected[0]) {
      const r = rejected[0];
      const e = HttpError.withCode(r.statusCode, r.code, r.message);
      e.counted = true;
      throw e;
    }
    return { single, valid, rejected };
  }

  /** The last measured offset per agent (placing reports without a time probe), bounded. */
  private readonly lastOffset = new Map<string, number>();

  private rememberOffset(agentId: string, offsetMs: number): void {
    if (this.lastOffset.size >= 100_000 && !this.lastOffset.has(agentId)) this.lastOffset.clear();
    this.lastOffset.set(agentId, offsetMs);
  }

  private resolutionMs(): number {
    const r = this.deps.hostResolutionMs;
    return typeof r === 'function' ? r() : r;
  }

  /**
   * Measures and judges one report as received at `receivedAtMs`. `placeOffsetMs`: for a report
   * without a time probe, the agent's last measured offset (null: none known).
   */
  prepare(report: Report, receivedAtMs: number, placeOffsetMs: number | null = null, text?: string): { record: SampleRecord; result: IngestResult } {
    const { compliance } = this.deps;
    const host = this.deps.hostClock.current();
    const hostResolutionMs = this.resolutionMs();
    const m: ReportMeasurement = compliance.measure(report, { receivedAtMs, hostSynchronized: host.synchronized, hostResolutionMs });
    const { verdict } = compliance.judgeReport(report, m, receivedAtMs, receivedAtMs);
    const stored = compliance.storedOf(report, verdict);
    const offset = m.offsetMs;
    // Host time of the measurement: the guest's collection time on the host clock, corrected by
    // this report's offset or else the agent's last measured one (the guest's clock orders its
    // reports, never the wire). A report is never measured after it was received.
    let placedBy: PlacedBy = offset !== null ? 'probe' : placeOffsetMs !== null ? 'last-offset' : 'guest-clock';
    let atMs = report.systemTime.epochMs - (offset ?? placeOffsetMs ?? 0);
    if (!(atMs <= receivedAtMs)) {
      atMs = receivedAtMs;
      placedBy = 'receipt';
    }
    if (offset !== null) this.rememberOffset(report.agent.id, offset);
    const json = text ?? reportJson(report);
    const statics = this.staticOf(report);
    const ntp = report.ntp;
    const record: SampleRecord = {
      reportId: report.reportId,
      agentId: report.agent.id,
      seq: report.seq,
      contentHash: sha256Hex(json),
      atMs,
      placedBy,
      instanceId: report.agent.instanceId ?? null,
      hostResolutionMs,
      receivedAtMs,
      guestEpochMs: report.systemTime.epochMs,
      offsetMs: offset,
      uncertaintyMs: m.uncertaintyMs,
      rtcOffsetS: m.rtcOffsetS,
      ntpSynchronized: isOk(ntp) ? ntp.synchronized : null,
      ntpOffsetMs: isOk(ntp) ? ntp.offsetMs : null,
      ntpLastSyncAgeS: isOk(ntp) ? ntp.lastSyncAgeS : null,
      status: verdict.status,
      baseStatus: stored.baseStatus,
      checks: stored.checks,
      staleAfterMs: stored.staleAfterMs,
      steps: report.events.filter((e) => e.kind === 'step').map((e) => ({ atMs: e.atMs - (offset ?? placeOffsetMs ?? 0), stepMs: e.stepMs })),
      staticParts: statics.parts,
      staticHash: statics.hash,
      hostname: report.agent.hostname,
      systemUuid: report.agent.systemUuid,
      labels: report.agent.labels,
      intervalS: report.agent.intervalS,
      clocksource: isOk(report.clocksource) ? report.clocksource.current : null,
      timezone: isOk(report.timezone) ? report.timezone.name : null,
      report,
      reportJson: json,
      measurement: m,
      verdict,
    };
    const result: IngestResult = {
      reportId: report.reportId,
      agentId: report.agent.id,
      stored: true,
      duplicate: false,
      offsetMs: m.offsetMs,
      uncertaintyMs: m.uncertaintyMs,
      rtcOffsetS: m.rtcOffsetS,
      verdict,
    };
    return { record, result };
  }

  /**
   * For each report without a time probe, the offset its agent last measured: the measured report
   * of the same request nearest in seq (a spool flush carries the fresh measured report with the
   * old ones), else the last one this collector saw, else the store's.
   */
  private async placeOffsets(valid: readonly ValidReport[]): Promise<(number | null)[]> {
    const out: (number | null)[] = new Array(valid.length).fill(null);
    // Nearly every request: every report has its probe, nothing to place.
    if (valid.every((v) => isOk(v.report.timeProbe))) return out;
    const measured = new Map<string, { seq: number; offsetMs: number }[]>();
    const unplaced: number[] = [];
    valid.forEach((v, i) => {
      const probe = v.report.timeProbe;
      if (isOk(probe)) {
        const m = this.deps.compliance.measure(v.report, { receivedAtMs: 0, hostSynchronized: null, hostResolutionMs: this.resolutionMs() });
        if (m.offsetMs !== null) {
          const list = measured.get(v.report.agent.id) ?? [];
          list.push({ seq: v.report.seq, offsetMs: m.offsetMs });
          measured.set(v.report.agent.id, list);
          return;
        }
      }
      unplaced.push(i);
    });
    for (const i of unplaced) {
      const r = (valid[i] as ValidReport).report;
      const near = measured.get(r.agent.id);
      if (near) {
        let best = near[0] as { seq: number; offsetMs: number };
        for (const n of near) if (Math.abs(n.seq - r.seq) < Math.abs(best.seq - r.seq)) best = n;
        out[i] = best.offsetMs;
        continue;
      }
      let last: number | null | undefined = this.lastOffset.get(r.agent.id);
      if (last === undefined && this.deps.store) {
        last = await this.deps.store.lastMeasuredOffset(r.agent.id);
        if (last !== null) this.rememberOffset(r.agent.id, last);
      }
      out[i] = last ?? null;
    }
    return out;
  }

  /** Stores the valid reports (one group transaction) and builds the answer. */
  async store(valid: readonly ValidReport[], rejected: IngestRejection[], receivedAtMs: number): Promise<IngestAnswer> {
    const places = await this.placeOffsets(valid);
    const prepared = valid.map((v, i) => ({ index: v.index, ...this.prepare(v.report, receivedAtMs, places[i] ?? null, v.json) }));
    let outcomes: WriteOutcome[] = [];
    if (prepared.length > 0) {
      try {
        outcomes = await this.deps.committer.submit(prepared.map((p) => p.record));
      } catch (err) {
        // Nothing of this request was written (the transaction rolled back): the agent keeps the
        // reports and retries, which a 503 tells it to do.
        if (err instanceof CommitterClosedError) throw new HttpError('SHUTTING_DOWN');
        // The database file was deleted or replaced (store.write looks before every transaction).
        if (err instanceof DatabaseGoneError) throw new HttpError('DB_GONE', err.message, { 'retry-after': '60' });
        throw new HttpError('STORE', `the store could not commit: ${(err as Error).message}`);
      }
    }
    const results: IngestResult[] = [];
    const allRejected = [...rejected];
    prepared.forEach((p, i) => {
      const outcome = outcomes[i] ?? 'conflict';
      this.deps.onOutcome?.(outcome, outcome === 'conflict' ? codeOf('REPORT_CONFLICT') : undefined);
      if (outcome === 'conflict') {
        allRejected.push({
          index: p.index,
          reportId: p.result.reportId,
          statusCode: 409,
          code: codeOf('REPORT_CONFLICT'),
          message: `reportId ${p.result.reportId} is already stored with different content`,
        });
        return;
      }
      results.push(outcome === 'duplicate' ? { ...p.result, stored: false, duplicate: true } : p.result);
    });
    allRejected.sort((a, b) => a.index - b.index);
    return { accepted: results.length, results, rejected: allRejected };
  }
}
