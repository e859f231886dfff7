/**
 * Pushing reports: `POST /v1/reports` with a JSON array of reports and `Authorization: Bearer`
 * when a token is configured. The collector answers 200 { accepted, results[] } only after durable
 * storage; each result names its reportId, so what was acknowledged is known per report. Outcomes
 * are classified once, by status code (never by message):
 *   200            ok (acknowledged reports leave the spool)
 *   network error, 408, 429, 5xx   retry with backoff and jitter (429/503: Retry-After honoured)
 *   401, 403       auth: the token is wrong for every report — keep them all, try next cycle
 *   other 4xx      reject: this report (or batch) is refused for good
 */
import type { IngestResponse, IngestResult, Report } from '@clockwatch/shared';
import type { Dispatcher } from 'undici';
import { errorMessage } from './context.js';
import { AnswerError, postJson, type PostAnswer } from './http-post.js';

export type PushOutcome =
  | { kind: 'ok'; response: IngestResponse }
  | { kind: 'retry'; reason: string; status: number | null; retryAfterMs: number | null }
  | { kind: 'auth'; status: number; code: string; message: string }
  | { kind: 'reject'; status: number; code: string; message: string };

export interface PushOptions {
  dispatcher: Dispatcher;
  basePath?: string;
  token?: string | null;
  timeoutMs?: number;
  nowMs?: () => number;
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; capped at an hour. */
export function parseRetryAfterMs(value: string | string[] | undefined, nowMs: number): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const t = v.trim();
  let ms: number;
  if (/^\d+$/.test(t)) ms = Number(t) * 1000;
  else {
    const at = Date.parse(t);
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), 3_600_000);
}

/** Exponential backoff with equal jitter: half the step fixed, half random (never zero, never synchronised). */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = 1000, maxMs = 60_000): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}

function isIngestResponse(x: unknown): x is IngestResponse {
  const r = x as IngestResponse;
  return typeof r === 'object' && r !== null && Array.isArray(r.results) && r.results.every((e) => typeof e?.reportId === 'string');
}

export async function pushReports(reports: readonly Report[], o: PushOptions): Promise<PushOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const timeout = o.timeoutMs ?? 15_000;
  let res: PostAnswer;
  try {
    res = await postJson(o.dispatcher, { path: `${o.basePath ?? ''}/v1/reports`, headers, body: JSON.stringify(reports), timeoutMs: timeout });
  } catch (err) {
    if (err instanceof AnswerError) return { kind: 'retry', reason: `reading the answer: ${errorMessage(err)}`, status: err.statusCode, retryAfterMs: null };
    const code = (err as { code?: string }).code;
    return { kind: 'retry', reason: `${code ? `${code}: ` : ''}${errorMessage(err)}`, status: null, retryAfterMs: null };
  }
  const text = res.text;
  const status = res.statusCode;
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (status === 200) {
    if (isIngestResponse(body)) return { kind: 'ok', response: body };
    return { kind: 'retry', reason: `200 without an ingest result: ${text.slice(0, 200)}`, status, retryAfterMs: null };
  }
  const err = (body ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : `HTTP_${status}`;
  const message = typeof err.message === 'string' ? err.message : text.slice(0, 300);
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', reason: `${status} ${code}: ${message}`, status, retryAfterMs: parseRetryAfterMs(res.headers['retry-after'], (o.nowMs ?? Date.now)()) };
  }
  if (status === 401 || status === 403) return { kind: 'auth', status, code, message };
  return { kind: 'reject', status, code, message };
}

export type { IngestResult };
