/**
 * Delivery of the spool, oldest first, in batches, within a deadline shorter than the interval (so
 * cycles never overlap: the OpenTelemetry periodic-exporter model). A report leaves the spool only
 * when the collector's answer names its reportId (stored or duplicate — a resend is harmless), or
 * when the collector refused it with a 4xx (counted as rejected). A refused batch is retried one
 * report at a time so that only the culprit is dropped.
 */
import type { IngestResult, Report } from '@clockwatch/shared';
import type { Logger } from './log.js';
import type { Spool } from './spool.js';
import { backoffMs, type PushOutcome } from './transport.js';

export interface DeliverOptions {
  spool: Spool;
  push: (reports: readonly Report[]) => Promise<PushOutcome>;
  log: Logger;
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Give up for this cycle at this time (ms, nowMs clock). */
  deadlineMs: number;
  batchSize?: number;
  maxBatchBytes?: number;
  /** Attempts after the first failure before leaving the rest for the next cycle. */
  maxRetries?: number;
  /** Stop early (SIGTERM): the first request still goes (it carries the cycle's report), no retry or further batch does. */
  stopped?: () => boolean;
}

export interface DeliverResult {
  /** 'done': spool empty; 'deferred': network/5xx/429 — try again after notBeforeMs; 'auth': token refused. */
  status: 'done' | 'deferred' | 'auth' | 'stopped';
  sent: number;
  rejected: number;
  results: Map<string, IngestResult>;
  notBeforeMs: number | null;
  lastError: string | null;
}

export async function deliverSpool(o: DeliverOptions): Promise<DeliverResult> {
  const now = o.nowMs ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const batchSize = o.batchSize ?? 50;
  const maxBatchBytes = o.maxBatchBytes ?? 1024 * 1024;
  const maxRetries = o.maxRetries ?? 4;
  const out: DeliverResult = { status: 'done', sent: 0, rejected: 0, results: new Map(), notBeforeMs: null, lastError: null };
  let failures = 0;
  let oneByOne = false;
  let requests = 0;

  for (;;) {
    if (requests > 0 && o.stopped?.()) return { ...out, status: o.spool.list().length ? 'stopped' : 'done' };
    const entries = o.spool.list();
    if (entries.length === 0) return out;
    const batch: Report[] = [];
    let bytes = 0;
    for (const e of entries) {
      if (batch.length >= (oneByOne ? 1 : batchSize) || (batch.length > 0 && bytes + e.bytes > maxBatchBytes)) break;
      const r = await o.spool.read(e, (file, reason) => o.log.error(`spool file ${file} is not a report (${reason}); counted as dropped`));
      if (r) {
        batch.push(r);
        bytes += e.bytes;
      }
    }
    if (batch.length === 0) {
      // Bad files left the list (moved to bad/): look again. The list must have shrunk; if it did
      // not, stop rather than spin (a cycle that makes no progress never repeats itself).
      if (o.spool.list().length < entries.length) continue;
      return { ...out, status: 'deferred', notBeforeMs: now() + backoffMs(0, o.random) };
    }

    requests++;
    const outcome = await o.push(batch);
    if (outcome.kind === 'ok') {
      failures = 0;
      let acked = 0;
      for (const res of outcome.response.results) {
        if (await o.spool.ack(res.reportId)) {
          acked++;
          out.sent++;
        }
        out.results.set(res.reportId, res);
      }
      // Reports of the array refused one by one (IngestResponse.rejected): wrong for good, dropped and counted.
      const refused = (outcome.response as { rejected?: Array<{ index?: number; reportId?: string | null; statusCode?: number; code?: string; message?: string }> }).rejected ?? [];
      for (const rej of refused) {
        const id = rej.reportId ?? (typeof rej.index === 'number' ? batch[rej.index]?.reportId : undefined);
        if (!id || !o.spool.list().some((e) => e.reportId === id)) continue;
        await o.spool.reject(id);
        out.rejected++;
        acked++;
        out.lastError = `${rej.statusCode ?? 400} ${rej.code ?? 'rejected'}: ${rej.message ?? ''}`;
        o.log.error(`collector refused report ${id} for good: ${out.lastError}; dropped`);
      }
      if (acked === 0) {
        // 200 that acknowledges none of what was sent: treat as a failure, not as a loop.
        out.lastError = 'the collector answered 200 without acknowledging any report sent';
        o.log.warn(out.lastError);
        return { ...out, status: 'deferred', notBeforeMs: now() + backoffMs(0, o.random) };
      }
      if (oneByOne && acked > 0) oneByOne = false;
      continue;
    }
    if (outcome.kind === 'reject') {
      if (batch.length > 1) {
        o.log.warn(`collector refused a batch of ${batch.length} reports (${outcome.status} ${outcome.code}); sending them one by one`);
        oneByOne = true;
        continue;
      }
      const r = batch[0]!;
      await o.spool.reject(r.reportId);
      out.rejected++;
      out.lastError = `${outcome.status} ${outcome.code}: ${outcome.message}`;
      o.log.error(`collector refused report ${r.reportId} (seq ${r.seq}) for good: ${out.lastError}; dropped`);
      continue;
    }
    if (outcome.kind === 'auth') {
      out.lastError = `${outcome.status} ${outcome.code}: ${outcome.message}`;
      o.log.error(`collector refused the token (${out.lastError}); ${entries.length} report(s) stay in the spool`);
      return { ...out, status: 'auth' };
    }
    // retry
    out.lastError = outcome.reason;
    const wait = Math.max(outcome.retryAfterMs ?? 0, backoffMs(failures, o.random));
    failures++;
    if (failures > maxRetries || now() + wait > o.deadlineMs || o.stopped?.()) {
      o.log.warn(`collector unreachable (${outcome.reason}); ${entries.length} report(s) wait in the spool`);
      return { ...out, status: 'deferred', notBeforeMs: now() + wait };
    }
    o.log.debug(`push failed (${outcome.reason}); retrying in ${wait} ms`);
    await sleep(wait);
  }
}
