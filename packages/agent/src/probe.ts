/**
 * The time exchange with the collector (spec: POST /v1/time {t1} → {t1, t2, t3}; the agent records
 * t4), NTP style (RFC 5905 §8): several samples on one kept-alive connection, after one warm-up
 * request so that no sample pays for the TCP (or TLS) handshake (domain.md §6.2). The collector
 * recomputes offset and uncertainty from the raw samples and keeps the minimum-delay one.
 *
 * A collector with a dedicated time listener (its own thread, away from ingest) names its port in
 * a `clockwatch-time-port` header of every answer. The samples are then taken there, on the
 * collector URL's host, after a warm-up of their own; when that port cannot be reached (a
 * firewall, a reverse proxy in front of the collector) they are taken on the collector URL as before.
 * While the time port's connection stays open from one cycle to the next, the exchange goes there
 * directly (its warm-up, then the samples): the main URL is asked again only when it closed.
 */
import { ErrorCodes, LIMITS, type Sample, type TimeProbeSection } from '@clockwatch/shared';
import type { Dispatcher } from 'undici';
import { errorMessage } from './context.js';
import { postJson } from './http-post.js';
import type { AnchoredWallClock } from '@clockwatch/shared/node';

export interface ProbeOptions {
  /** An undici Client (one connection) to the collector's origin. */
  dispatcher: Dispatcher;
  /** Path prefix of the collector URL ('' or '/clockwatch'). */
  basePath?: string;
  clock: Pick<AnchoredWallClock, 'now' | 'reanchor' | 'resolutionMs'>;
  samples?: number;
  timeoutMs?: number;
  token?: string | null;
  /**
   * A connection to the advertised time port on the collector's host, or null to stay on the
   * main one (the agent remembers a port that failed for a while).
   */
  timeDispatcher?: (port: number) => Dispatcher | null;
  /** The advertised time port failed its warm-up; this exchange fell back to the collector URL. */
  onTimePortFailure?: (port: number, err: unknown) => void;
  /**
   * The time port's connection, when it is still open from the last exchange: the port was then
   * learnt from a main-URL answer on a connection to that same listener, so this exchange skips
   * the main-URL warm-up (one request of eight). A collector that restarts closes the connection
   * (and may name another port, or none): the next exchange starts on the main URL again.
   */
  liveTimePort?: () => { port: number; dispatcher: Dispatcher } | null;
}

export const TIME_PORT_HEADER = 'clockwatch-time-port';

interface Answer {
  t2: number;
  t3: number;
  t4: number;
  /** The dedicated time port the collector named, if any. */
  timePort: number | null;
}

function timePortOf(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || !/^\d{1,5}$/.test(v.trim())) return null;
  const port = Number(v);
  return port >= 1 && port <= 65535 ? port : null;
}

/** The collector's clock (t2/t3): 2000–2100, anything else is not a reading (report schema EpochMs). */
const inRange = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= LIMITS.minEpochMs && x <= LIMITS.maxEpochMs;
/**
 * The guest's own clock (t1/t4): from the epoch on (schema GuestEpochMs). A guest whose clock
 * reads 1999 or 1970 is exactly what must be measured (≈ −27 years), never filtered out as
 * "no usable sample".
 */
const guestInRange = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= LIMITS.maxGuestEpochMs;

async function exchange(o: Pick<ProbeOptions, 'dispatcher' | 'basePath' | 'clock' | 'timeoutMs' | 'token'>, t1: number): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let t4 = Number.NaN;
  const res = await postJson(o.dispatcher, {
    path: `${o.basePath ?? ''}/v1/time`,
    headers,
    body: JSON.stringify({ t1 }),
    timeoutMs: o.timeoutMs ?? 5000,
    // t4 when the answer's headers arrive: reading and parsing the small body is not network delay.
    onHeaders: () => {
      t4 = o.clock.now();
    },
  });
  const text = res.text;
  if (res.statusCode !== 200) throw new Error(`POST /v1/time answered ${res.statusCode}: ${text.slice(0, 200)}`);
  const reply = JSON.parse(text) as { t1?: unknown; t2?: unknown; t3?: unknown };
  if (!inRange(reply.t2) || !inRange(reply.t3)) throw new Error(`POST /v1/time answered without usable t2/t3: ${text.slice(0, 200)}`);
  if (reply.t1 !== undefined && reply.t1 !== t1) throw new Error('POST /v1/time echoed a different t1');
  return { t2: reply.t2, t3: reply.t3, t4, timePort: timePortOf(res.headers[TIME_PORT_HEADER]) };
}

/**
 * Runs the exchange. A failure after some samples keeps those samples (each one is evidence);
 * none at all is { error: CW_ERR_PROBE_FAILED }.
 */
export async function runTimeExchange(o: ProbeOptions): Promise<TimeProbeSection> {
  const n = Math.max(1, Math.min(o.samples ?? 8, LIMITS.samples));
  o.clock.reanchor();
  const live = o.liveTimePort?.() ?? null;
  if (live) {
    // The warm-up on the time port alone still revalidates its connection before any sample
    // (domain.md §6.2: time the requests after the connection is warm). If it fails (the
    // listener closed the connection at this moment, or is gone), the exchange starts over on
    // the main URL, which also tells whether the port is still the one to use.
    const d = { ...o, dispatcher: live.dispatcher, basePath: '' };
    let warmed = true;
    try {
      await exchange(d, o.clock.now());
    } catch {
      warmed = false;
    }
    if (warmed) return takeSamples(d, n);
  }
  // Warm-up: opens or revalidates the connection. A kept-alive socket the collector closed at
  // the same moment fails once; the second try gets a new connection.
  let warm: Answer;
  for (let attempt = 1; ; attempt++) {
    try {
      warm = await exchange(o, o.clock.now());
      break;
    } catch (err) {
      if (attempt >= 2) return { error: { code: ErrorCodes.PROBE_FAILED, message: `time exchange with the collector failed: ${errorMessage(err)}`.slice(0, 2000) } };
    }
  }
  let via: Pick<ProbeOptions, 'dispatcher' | 'basePath' | 'clock' | 'timeoutMs' | 'token'> = o;
  const port = warm.timePort;
  const dedicated = port !== null ? (o.timeDispatcher?.(port) ?? null) : null;
  if (port !== null && dedicated) {
    // The dedicated listener answers /v1/time at its root, whatever the collector URL's path.
    const d = { ...o, dispatcher: dedicated, basePath: '' };
    try {
      await exchange(d, o.clock.now());
      via = d;
    } catch (err) {
      o.onTimePortFailure?.(port, err);
    }
  }
  return takeSamples(via, n);
}

/** `n` samples on a warm connection; a failure keeps the samples taken before it. */
async function takeSamples(via: Pick<ProbeOptions, 'dispatcher' | 'basePath' | 'clock' | 'timeoutMs' | 'token'>, n: number): Promise<TimeProbeSection> {
  const samples: Sample[] = [];
  let failure: string | null = null;
  for (let i = 0; i < n; i++) {
    const t1 = via.clock.now();
    try {
      const r = await exchange(via, t1);
      if (guestInRange(t1) && guestInRange(r.t4)) samples.push({ t1, t2: r.t2, t3: r.t3, t4: r.t4 });
    } catch (err) {
      failure = errorMessage(err);
      break;
    }
  }
  if (samples.length === 0) {
    return { error: { code: ErrorCodes.PROBE_FAILED, message: `time exchange with the collector failed: ${failure ?? 'no usable sample'}`.slice(0, 2000) } };
  }
  return { samples, resolutionMs: via.clock.resolutionMs };
}
