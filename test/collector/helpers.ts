/**
 * Test helpers for the collector: fixture reports (test/fixtures/cases) moved to any instant,
 * reports with a chosen offset, apps over real SQLite stores, a strict Prometheus text checker.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NtpSection, PolicyDocument, Report } from '@clockwatch/shared';
import { parsePolicyText } from '@clockwatch/shared';
import {
  buildApp,
  Compliance,
  Ingestor,
  openSqliteStore,
  staticHostClock,
  type AppOptions,
  type GroupCommitter,
  type SampleRecord,
  type SqliteStore,
} from '@clockwatch/collector';

export { repoRoot, casesDir } from '../helpers/paths.js';
import { casesDir } from '../helpers/paths.js';

/** The instant the fixture reports were collected around. */
export const FIXTURE_BASE_MS = 1_795_600_000_000;

export interface FixtureCase {
  name: string;
  report: Report;
  expected: { todo?: string; status: string; checks: Record<string, { status: string; reasonIncludes?: string[] }>; measurement?: Record<string, number> };
  context: { receivedAtMs: number; nowMs: number; hostSynchronized: boolean | null };
  policy: PolicyDocument | null;
}

export function caseNames(): string[] {
  return readdirSync(casesDir).sort();
}

export function loadCase(name: string): FixtureCase {
  const dir = join(casesDir, name);
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  return {
    name,
    report: read('report.json') as Report,
    expected: read('expected.json'),
    context: read('context.json'),
    policy: existsSync(join(dir, 'policy.json')) ? parsePolicyText(readFileSync(join(dir, 'policy.json'), 'utf8')) : null,
  };
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Shifts every instant of a report by deltaMs (the clocks keep their offsets to each other). */
export function shift(report: Report, deltaMs: number): Report {
  const r = clone(report);
  r.systemTime.epochMs += deltaMs;
  if ('epochMs' in r.rtc && typeof r.rtc.epochMs === 'number') {
    r.rtc.epochMs += deltaMs;
    r.rtc.readAtMs += deltaMs;
  }
  if ('samples' in r.timeProbe) for (const s of r.timeProbe.samples) Object.assign(s, { t1: s.t1 + deltaMs, t2: s.t2 + deltaMs, t3: s.t3 + deltaMs, t4: s.t4 + deltaMs });
  for (const e of r.events) e.atMs += deltaMs;
  return r;
}

export const HOST_SYNCED: NtpSection = {
  daemon: 'chronyd',
  synchronized: true,
  server: '10.0.0.1',
  stratum: 2,
  offsetMs: 0.01,
  lastSyncAgeS: 10,
  pollIntervalS: 64,
  maxErrorMs: 0.5,
};
export const HOST_UNSYNCED: NtpSection = { ...HOST_SYNCED, synchronized: false, server: null, stratum: null, lastSyncAgeS: null };

export interface ReportSpec {
  agentId?: string;
  hostname?: string;
  reportId?: string;
  seq?: number;
  /** Host time of the measurement, ms. */
  atMs: number;
  /** Guest − host, ms. */
  offsetMs?: number;
  /** Round trip of the best sample, ms. */
  delayMs?: number;
  /** RTC (read as UTC) − host UTC, s. */
  rtcOffsetS?: number;
  intervalS?: number;
  labels?: Record<string, string>;
  clocksource?: string;
  steps?: { atMs: number; stepMs: number }[];
}

let counter = 0;
/** A valid report (the compliant KVM fixture) measured at host time atMs with the given offset. */
export function makeReport(spec: ReportSpec): Report {
  const base = loadCaseCached('kvm-linux-compliant');
  const r = clone(base);
  const offset = spec.offsetMs ?? 2;
  const delay = spec.delayMs ?? 0.4;
  const guest = spec.atMs + offset;
  r.reportId = spec.reportId ?? `rep-${process.pid}-${++counter}-${Math.round(spec.atMs)}`;
  r.seq = spec.seq ?? counter;
  r.agent.id = spec.agentId ?? r.agent.id;
  r.agent.hostname = spec.hostname ?? r.agent.hostname;
  if (spec.intervalS !== undefined) r.agent.intervalS = spec.intervalS;
  if (spec.labels) r.agent.labels = spec.labels;
  if (spec.clocksource && 'current' in r.clocksource) r.clocksource.current = spec.clocksource;
  r.systemTime.epochMs = guest;
  if ('epochMs' in r.rtc) {
    r.rtc.readAtMs = guest - 5;
    r.rtc.epochMs = spec.atMs - 5 + (spec.rtcOffsetS ?? 0) * 1000;
  }
  // One exchange just before collection: t1/t4 guest clock, t2/t3 host clock, symmetric path.
  const t1 = guest - 20;
  const t2 = t1 - offset + delay / 2;
  const t3 = t2 + 0.05;
  const t4 = t3 + offset + delay / 2;
  r.timeProbe = { samples: [{ t1, t2, t3, t4 }], resolutionMs: 0.001 };
  r.events = (spec.steps ?? []).map((s) => ({ kind: 'step' as const, atMs: s.atMs + offset, stepMs: s.stepMs }));
  return r;
}

const caseCache = new Map<string, Report>();
function loadCaseCached(name: string): Report {
  let r = caseCache.get(name);
  if (!r) {
    r = loadCase(name).report;
    caseCache.set(name, r);
  }
  return r;
}

/** A store record computed by the real ingest path (for store tests), with overrides. */
export function recordOf(report: Report, receivedAtMs: number, overrides: Partial<SampleRecord> = {}, hostSynced = true): SampleRecord {
  const ingestor = new Ingestor({
    committer: null as unknown as GroupCommitter,
    compliance: new Compliance(),
    hostClock: staticHostClock(hostSynced ? HOST_SYNCED : HOST_UNSYNCED),
    hostResolutionMs: 0.001,
    maxBatch: 1000,
  });
  return { ...ingestor.prepare(report, receivedAtMs).record, ...overrides };
}

/**
 * A sub-ms wall clock for test clients, anchored to Date.now() the way the collector does it
 * (middle of the window in which Date.now() ticked; median of good anchors).
 */
export function anchoredClock(): () => number {
  const anchors: number[] = [];
  while (anchors.length < 5) {
    let prev = performance.now();
    const start = Date.now();
    for (;;) {
      const p1 = performance.now();
      const d = Date.now();
      const p2 = performance.now();
      if (d !== start) {
        if (p2 - prev < 0.04) anchors.push(d - (prev + p2) / 2);
        break;
      }
      prev = p1;
    }
  }
  anchors.sort((a, b) => a - b);
  const anchor = anchors[2] as number;
  return () => anchor + performance.now();
}

export async function appWith(options: Partial<AppOptions> & { dbPath?: string } = {}) {
  const store: SqliteStore = (options.store as SqliteStore | undefined) ?? openSqliteStore({ path: options.dbPath ?? ':memory:' });
  const app = await buildApp({
    hostClock: staticHostClock(HOST_SYNCED, Date.now()),
    defaultMetrics: false,
    rateLimit: { perMinute: 0 },
    ...options,
    store,
  });
  return {
    app,
    store,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export function sampleCount(store: SqliteStore): number {
  return store.db.prepare('SELECT count(*) FROM samples').pluck().get() as number;
}

/**
 * Checks Prometheus text exposition format 0.0.4 line by line: HELP/TYPE comments, sample lines
 * `name{label="value",...} number`, label escaping, TYPE before samples, one TYPE per family.
 * Returns the samples, or throws naming the first bad line.
 */
export function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  const typed = new Map<string, string>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
  const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(?:,|$)/;
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
      if (!m) throw new Error(`bad comment, ${where}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`bad type, ${where}`);
        if (typed.has(m[2] as string)) throw new Error(`second TYPE, ${where}`);
        typed.set(m[2] as string, m[3] as string);
      }
      return;
    }
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const name = m[1] as string;
    const family = name.replace(/_(bucket|sum|count|total|created)$/, '');
    if (!typed.has(name) && !typed.has(family)) throw new Error(`sample before its TYPE, ${where}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest.length > 0) {
      const l = labelRe.exec(rest);
      if (!l) throw new Error(`bad labels, ${where}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    const v = m[3] as string;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v);
    if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|Inf|NaN)$/.test(v)) throw new Error(`bad value, ${where}`);
    out.push({ name, labels, value });
  });
  return out;
}
