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
  agentStatus,
  isOk,
  measureReport,
  validateReport,
  type IngestRejection,
  type IngestResult,
  type Report,
  type ReportMeasurement,
  type Verdict,
} from '@clockwatch/shared';
import { reportJson, sha256Hex } from './canonical.js';
import type { Compliance } from './compliance.js';
import { codeOf, HttpError } from './errors.js';
import { CommitterClosedError, type GroupCommitter } from './group-commit.js';
import type { HostClock } from './host-clock.js';
import type { SampleRecord, StoredCheckId, WriteOutcome } from './store/types.js';
import { STORED_CHECKS } from './store/types.js';

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
  /** Resolution of the host's t2/t3 timestamps, ms. */
  hostResolutionMs: number;
  maxBatch: number;
  onOutcome?: (outcome: WriteOutcome | 'rejected', code?: string) => void;
}

export interface ValidReport {
  index: number;
  report: Report;
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

  /** Splits a body into valid reports and rejections. Throws for a body that is not a report or an array of them. */
  parse(body: unknown): { single: boolean; valid: ValidReport[]; rejected: IngestRejection[] } {
    const single = !Array.isArray(body);
    const items: unknown[] = single ? [body] : (body as unknown[]);
    if (!single && items.length === 0) throw new HttpError('VALIDATION', 'the array holds no reports');
    if (items.length > this.deps.maxBatch) {
      throw new HttpError('BATCH_TOO_LARGE', `${items.length} reports in one request; the limit is ${this.deps.maxBatch}: send them in smaller arrays`);
    }
    const valid: ValidReport[] = [];
    const rejected: IngestRejection[] = [];
    items.forEach((item, index) => {
      const v = validateReport(item);
      if (v.ok) {
        valid.push({ index, report: v.report });
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

  /** Measures and evaluates one report as received at `receivedAtMs`. */
  prepare(report: Report, receivedAtMs: number): { record: SampleRecord; result: IngestResult } {
    const { compliance } = this.deps;
    const policy = compliance.resolve(report);
    const host = this.deps.hostClock.current();
    const m: ReportMeasurement = measureReport(report, {
      receivedAtMs,
      hostResolutionMs: this.deps.hostResolutionMs,
      hostSynchronized: host.synchronized,
      rtcToleranceS: policy.rtc.maxDriftS,
    });
    const verdict: Verdict = compliance.evaluate(report, m, receivedAtMs);
    const checks: Partial<Record<StoredCheckId, Verdict['checks'][number]['status']>> = {};
    for (const c of verdict.checks) if ((STORED_CHECKS as readonly string[]).includes(c.id)) checks[c.id as StoredCheckId] = c.status;
    const offset = m.offsetMs;
    // Host time of the measurement: the guest's collection time on the host clock. A report is
    // never measured after it was received, whatever its samples claim.
    const atMs = offset === null ? receivedAtMs : Math.min(receivedAtMs, report.systemTime.epochMs - offset);
    const json = reportJson(report);
    const statics = this.staticOf(report);
    const ntp = report.ntp;
    const record: SampleRecord = {
      reportId: report.reportId,
      agentId: report.agent.id,
      seq: report.seq,
      contentHash: sha256Hex(json),
      atMs,
      receivedAtMs,
      guestEpochMs: report.systemTime.epochMs,
      offsetMs: offset,
      uncertaintyMs: m.uncertaintyMs,
      rtcOffsetS: m.rtcOffsetS,
      ntpSynchronized: isOk(ntp) ? ntp.synchronized : null,
      ntpOffsetMs: isOk(ntp) ? ntp.offsetMs : null,
      ntpLastSyncAgeS: isOk(ntp) ? ntp.lastSyncAgeS : null,
      status: verdict.status,
      baseStatus: agentStatus(verdict.checks.filter((c) => c.id !== 'reporting')),
      checks,
      staleAfterMs: compliance.staleAfterMs(report),
      steps: report.events.filter((e) => e.kind === 'step').map((e) => ({ atMs: e.atMs - (offset ?? 0), stepMs: e.stepMs })),
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

  /** Stores the valid reports (one group transaction) and builds the answer. */
  async store(valid: readonly ValidReport[], rejected: IngestRejection[], receivedAtMs: number): Promise<IngestAnswer> {
    const prepared = valid.map((v) => ({ index: v.index, ...this.prepare(v.report, receivedAtMs) }));
    let outcomes: WriteOutcome[] = [];
    if (prepared.length > 0) {
      try {
        outcomes = await this.deps.committer.submit(prepared.map((p) => p.record));
      } catch (err) {
        // Nothing of this request was written (the transaction rolled back): the agent keeps the
        // reports and retries, which a 503 tells it to do.
        if (err instanceof CommitterClosedError) throw new HttpError('SHUTTING_DOWN');
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
