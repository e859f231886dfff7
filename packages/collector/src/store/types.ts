/**
 * The store: where the collector keeps what it was told. A small interface so the SQLite store
 * (the embedded default) and a later PostgreSQL store are interchangeable; both must pass the one
 * contract suite in test/collector/store-contract.ts.
 *
 * The store does no policy work: the ingest path hands it fully computed records (measurement,
 * verdict, static parts and their hash); the store keeps them durably, keeps a per-agent latest
 * state so the fleet view never scans history, and keeps hourly rollups.
 *
 * Status that depends on *now* (`stale`) is never stored: the latest state keeps the status of the
 * other checks (`baseStatus`) and the staleness limit, and queries combine them with `nowMs`.
 */
import { STORED_CHECK_IDS, type AgentStatus, type CheckId, type CheckStatus, type Report, type ReportMeasurement, type Verdict } from '@clockwatch/shared';
import type { SampleColumns } from '../history-columns.js';

/**
 * The checks stored per sample and per latest state, in registry order (shared checks/index.ts:
 * every check that does not depend on the instant; `reporting` is combined with now at query time).
 * Sample rows pack them three bits each in this order (codes.ts): a new check goes at the end of
 * the registry.
 */
export const STORED_CHECKS = STORED_CHECK_IDS;
export type StoredCheckId = CheckId;

/** One ingested report, computed and ready to store. */
export interface SampleRecord {
  reportId: string;
  agentId: string;
  seq: number;
  /** Hex digest (≥ 16 hex digits) of `reportJson`: same reportId + same hash = duplicate. */
  contentHash: string;
  /** Host time of the measurement: the guest clock at collection − offset, ms (see placedBy). */
  atMs: number;
  /** How atMs was found (see PlacedBy). */
  placedBy: PlacedBy;
  /** The agent life (report agent.instanceId); null from agents that do not send one. */
  instanceId: string | null;
  /** Resolution of the host's timestamps when it was received, ms (to measure the report again). */
  hostResolutionMs: number;
  /** Host time the collector received the report, ms. */
  receivedAtMs: number;
  /** The guest's wall clock at collection (report.systemTime.epochMs). */
  guestEpochMs: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  ntpSynchronized: boolean | null;
  ntpOffsetMs: number | null;
  ntpLastSyncAgeS: number | null;
  /** Status at ingest (the reporting check passes at receipt). */
  status: AgentStatus;
  /** Status of the checks other than `reporting`; what `stale` falls back to. */
  baseStatus: AgentStatus;
  /** Per-check status; a check the policy disabled is absent. */
  checks: Partial<Record<StoredCheckId, CheckStatus>>;
  /** How long after the last delivery the agent becomes stale, ms (policy × intervalS); null when the reporting check is off. */
  staleAfterMs: number | null;
  /** Clock steps the guest reported, converted to host time. */
  steps: { atMs: number; stepMs: number }[];
  /** The parts of the report that rarely change (identity, OS, clocksources, RTC mode, timezone, NTP daemon). */
  staticParts: Record<string, unknown>;
  /** Hex digest of staticParts' JSON. */
  staticHash: string;
  /** Summary columns of the latest state (the fleet row). */
  hostname: string;
  systemUuid: string | null;
  labels: Record<string, string>;
  intervalS: number;
  clocksource: string | null;
  timezone: string | null;
  /** Kept whole for the latest report only (GET /v1/agents/:id), never per sample. */
  report: Report;
  /** The report as JSON (what contentHash hashes), so no store serialises it again. */
  reportJson: string;
  measurement: ReportMeasurement;
  verdict: Verdict;
}

/**
 * How a sample was placed in host time. 'probe': the guest clock at collection corrected by the
 * offset measured in this report; 'last-offset': the report has no time probe (the exchange failed,
 * e.g. spooled while the collector was down), corrected by the agent's last measured offset;
 * 'guest-clock': no offset was ever measured for the agent, the guest clock as it is; 'receipt':
 * the placement would lie after the report was received (impossible), so the receive time.
 */
export type PlacedBy = 'probe' | 'last-offset' | 'guest-clock' | 'receipt';
export const PLACED_BY: readonly PlacedBy[] = ['probe', 'last-offset', 'guest-clock', 'receipt'];

/** One latest state as the store hands it to rejudge(). */
export interface LatestState {
  agentId: string;
  report: Report;
  receivedAtMs: number;
  hostSynchronized: boolean | null;
  hostResolutionMs: number | null;
  lastSeenMs: number;
}

/** The stored part of a verdict (Compliance.storedOf). */
export interface StoredVerdictRow {
  baseStatus: AgentStatus;
  checks: Partial<Record<StoredCheckId, CheckStatus>>;
  staleAfterMs: number | null;
}

export interface RejudgeResult {
  agents: number;
  /** Agents whose stored verdict (status or a check) changed. */
  changed: number;
  /** Agents whose status (without reporting) changed, by "from→to". */
  statusChanges: Record<string, number>;
  durationMs: number;
}

export type WriteOutcome = 'stored' | 'duplicate' | 'conflict';

/** The fleet row as stored; `status` and the reporting check are combined with now by the store. */
export interface AgentSummary {
  id: string;
  hostname: string;
  /** The collector that measured the latest report (a store shared by many collectors keeps it; else absent). */
  collector?: string | null;
  status: AgentStatus;
  lastSeenMs: number;
  atMs: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  clocksource: string | null;
  timezone: string | null;
  ntpSynchronized: boolean | null;
  systemUuid: string | null;
  labels: Record<string, string>;
  intervalS: number;
  checks: Record<string, CheckStatus>;
}

export interface AgentQuery {
  nowMs: number;
  /** Any of these statuses (after combining with now). */
  statuses?: readonly AgentStatus[];
  /** Case-insensitive substring of id or hostname. */
  q?: string;
  /** Every one of these labels has exactly this value. */
  labels?: Readonly<Record<string, string>>;
  /** 'id' (default): by agent id; 'severity': worst status as of nowMs first (SEVERITY_ORDER), then hostname, then id. */
  sort?: AgentSort;
  offset: number;
  limit: number;
}

export type AgentSort = 'id' | 'severity';

/** Worst first: the order of the fleet page, the status CLI and the exports (shared/worst-first.ts). */
export { SEVERITY_ORDER } from '@clockwatch/shared';

export interface AgentPage {
  total: number;
  rows: AgentSummary[];
  /**
   * The UTF-8 of JSON.stringify(row) of each row, in order (a store may keep each row's JSON
   * cached; the Buffers are never written to); absent: serialise `rows`.
   */
  rowsJson?: () => Buffer[];
  /** With rowsJson: equal for two pages of this store exactly when their rows are equal. */
  rowsTag?: () => string;
}

export interface AgentDetailRecord {
  summary: AgentSummary;
  /** The latest report, whole. */
  report: Report;
  /** When the latest report was received, and the host's NTP state then: with the report and the
   * policy they determine its measurement and verdict. */
  receivedAtMs: number;
  hostSynchronized: boolean | null;
  /** Host timestamp resolution at receipt, ms (null in rows written before it was kept). */
  hostResolutionMs: number | null;
  /** The last delivery (summary.lastSeenMs): the reporting check is judged against it. */
  lastSeenMs: number;
  firstSeenMs: number;
  seq: number;
  reportId: string;
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
  limit: number;
}

export interface HistoryRow {
  reportId: string;
  seq: number;
  atMs: number;
  receivedAtMs: number;
  guestEpochMs: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  ntpSynchronized: boolean | null;
  ntpOffsetMs: number | null;
  status: AgentStatus;
  checks: Partial<Record<StoredCheckId, CheckStatus>>;
  stepCount: number;
  placedBy: PlacedBy;
}

export interface HistoryPage {
  /** In ascending time order: the latest `limit` points of the range. */
  rows: HistoryRow[];
  /** True when the range held more points than `limit`. */
  truncated: boolean;
}

/** History in columns (history-columns.ts): the points of HistoryPage, one array per field. */
export interface HistoryColumnsPage {
  columns: SampleColumns;
  /** True when the range held more points than `limit`. */
  truncated: boolean;
}

export interface RollupRow {
  hourMs: number;
  reports: number;
  /** Reports that carried an offset. */
  measured: number;
  offsetMinMs: number | null;
  offsetMaxMs: number | null;
  offsetMeanMs: number | null;
  uncertaintyMaxMs: number | null;
  /** Share of the hour's reports whose status at ingest was compliant, 0..1. */
  compliantShare: number;
}

export interface StaticVersion {
  hash: string;
  firstSeenMs: number;
  body: Record<string, unknown>;
}

export interface FleetSummary {
  agents: number;
  byStatus: Record<AgentStatus, number>;
  /** check id → agents with that check in fail / warn / unknown. */
  byCheck: Record<string, { fail: number; warn: number; unknown: number }>;
}

export interface PruneOptions {
  /** Raw samples and clock steps measured before this host time are deleted. */
  samplesBeforeMs: number;
  /** Hourly rollups before this are deleted; agents not seen since are forgotten entirely. */
  rollupsBeforeMs: number;
}

export interface PruneResult {
  samples: number;
  steps: number;
  rollups: number;
  agents: number;
}

export interface StoreStats {
  agents: number;
  samples: number;
  rollups: number;
  statics: number;
}

/** One retained sample as the export reads it. */
export interface PeriodSample {
  reportId: string;
  atMs: number;
  receivedAtMs: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  ntpSynchronized: boolean | null;
  /** Status at ingest (the reporting check passed at receipt). */
  status: AgentStatus;
  checks: Partial<Record<StoredCheckId, CheckStatus>>;
}

/** One agent's state at the end of a period (what decides, e.g., whether it gets a plot). */
export interface PeriodAgentState {
  id: string;
  firstSeenMs: number;
  /** The last sample measured before toMs (it may lie before fromMs); null when none is retained. */
  last: PeriodSample | null;
  /** True when `last` is the agent's latest report (its whole document is then in getAgent). */
  lastIsLatest: boolean;
  /** Static parts (identity, OS, clocksource, RTC mode, timezone, NTP daemon) of `last`, else of the latest report. */
  staticParts: Record<string, unknown> | null;
  /** Last delivery at or before toMs (exact when the period ends after the latest delivery). */
  lastSeenMs: number | null;
  /** How long after a delivery the agent turns stale (latest policy × interval); null when the check is off. */
  staleAfterMs: number | null;
}

/**
 * What the store knows about one agent over a period [fromMs, toMs): the state at the end of the
 * period and the aggregates an export states. Samples count where they are retained; whole hours
 * whose samples were pruned count through their hourly rollups.
 */
/** The stored sample of a period's worst offset. */
export interface PeriodWorstSample {
  reportId: string;
  atMs: number;
  /** Status and checks at ingest. */
  status: AgentStatus;
  checks: Record<string, CheckStatus>;
}

export interface AgentPeriodRecord extends PeriodAgentState {
  /** Reports measured in the period, and those compliant at ingest. */
  reports: number;
  compliantReports: number;
  /** Of `reports`, how many were counted from hourly rollups because their samples were pruned. */
  reportsFromRollups: number;
  /**
   * The measurement with the largest |offsetMs| in the period, signed (on a tie the positive one;
   * of equal values the earliest sample), with its uncertainty. From a rollup (samples pruned) the
   * uncertainty is the worst of that hour: an upper bound. `sample`: that stored sample, when the
   * store read it anyway (else a caller that needs it reads it from the history).
   */
  worst: { offsetMs: number; uncertaintyMs: number; fromRollup: boolean; sample?: PeriodWorstSample } | null;
  /** Drift of the offset over the period's retained samples, ppm, clock steps excluded (the fit of shared driftPpm), and the points it used. */
  drift: { ppm: number; points: number } | null;
  /** Plot points (as periodSeries gives them) when the query's series.want chose this agent. */
  series?: SeriesPoint[];
  /**
   * The hourly rollups of the hours that start in [fromMs, toMs), as rollups() gives them, when the
   * store read them with the period anyway (SQLite, a period of whole hours); absent: ask rollups().
   */
  hours?: RollupRow[];
}

export interface PeriodQuery {
  /** Inclusive. */
  fromMs: number;
  /** Exclusive. */
  toMs: number;
  /** Called now and then with agents done and the total, for a progress line. */
  onProgress?: (done: number, total: number) => void;
  /** Plot points for the agents `want` picks (from their state at the end of the period), at most maxPoints each. */
  series?: { maxPoints: number; want: (state: PeriodAgentState) => boolean };
}

/** A point of a plot: a bucket's largest |offset|, its uncertainty widened to cover every sample of the bucket. */
export interface SeriesPoint {
  atMs: number;
  offsetMs: number;
  uncertaintyMs: number;
}

/** An agent id already owned by another token (sqlite-identity.ts). */
export interface AgentBindingConflict {
  agentId: string;
  /** Fingerprint of the owning token (first 16 bytes of its SHA-256, hex). */
  ownerFingerprint: string;
}

/** Whether the store can still commit what it acknowledges. */
export type StoreHealth = { ok: true } | { ok: false; code: 'DB_GONE'; message: string };

export interface Store {
  /** 'sqlite', 'postgres', ... */
  readonly kind: string;
  /**
   * Writes the records in one transaction, in order, and resolves once it is committed, with one
   * outcome per record: 'stored', 'duplicate' (this reportId is stored with the same content hash)
   * or 'conflict' (stored with a different one). A failure rejects and writes nothing.
   */
  write(records: readonly SampleRecord[]): Promise<WriteOutcome[]>;
  /**
   * A page of the fleet. /metrics asks for the whole fleet on every scrape: a store may answer a
   * row whose latest state and status did not change since an earlier call with the same object
   * (SQLite's row cache, sqlite-fleet-rows.ts), which the metrics renderer then skips.
   */
  listAgents(query: AgentQuery): Promise<AgentPage>;
  getAgent(agentId: string, nowMs: number): Promise<AgentDetailRecord | null>;
  history(agentId: string, range: TimeRange): Promise<HistoryPage>;
  /**
   * The points of history(), in the same order with the same `truncated`, as columns: equal to
   * sampleColumns(history rows, detail). Built for the columns form (a store reads only what it
   * holds, without an object per point).
   */
  historyColumns(agentId: string, range: TimeRange, detail: boolean): Promise<HistoryColumnsPage>;
  rollups(agentId: string, range: TimeRange): Promise<RollupRow[]>;
  /** Recorded clock steps (host time) in the range, for drift. */
  steps(agentId: string, fromMs: number, toMs: number): Promise<{ atMs: number; stepMs: number }[]>;
  /** Every distinct version of the agent's static parts, oldest first. */
  staticVersions(agentId: string): Promise<StaticVersion[]>;
  summary(nowMs: number): Promise<FleetSummary>;
  /**
   * Every agent first seen before the end of the period, with the state at its end and the
   * period's aggregates (exports). Ordered by agent id.
   */
  periodAgents(query: PeriodQuery): Promise<AgentPeriodRecord[]>;
  /**
   * One agent's measured offsets in [fromMs, toMs), at most `maxPoints` of them: the period is cut
   * into maxPoints equal buckets, each giving its point of largest |offset| (no excursion is hidden),
   * with an uncertainty that covers every sample of the bucket. Time order.
   */
  periodSeries(agentId: string, fromMs: number, toMs: number, maxPoints: number): Promise<SeriesPoint[]>;
  /**
   * Judges every latest state again (`judge` returns its stored verdict) and writes the ones that
   * changed, in one transaction: the per-check columns stay a cache of the judge's output when the
   * policy or the libvirt snapshot changes.
   */
  rejudge(judge: (state: LatestState) => StoredVerdictRow): Promise<RejudgeResult>;
  /** The agent's offset of its latest measured report (to place reports without a time probe); null when none. */
  lastMeasuredOffset(agentId: string): Promise<number | null>;
  prune(options: PruneOptions): Promise<PruneResult>;
  /**
   * Binds agent ids to the token that delivers them: the first token to deliver an id owns it;
   * another may only with `rebind` (which moves it). Null when every id is (now) this token's;
   * otherwise the first id owned by another token, and nothing is bound.
   */
  bindAgentsToToken(agentIds: readonly string[], tokenFingerprint: string, options: { rebind: boolean; nowMs: number }): Promise<AgentBindingConflict | null>;
  /**
   * Checked afresh on every write, and by the app (before each report request and by its
   * watchdog): a database file deleted or replaced under it. `maxAgeMs`: an answer that old may
   * come from the last look (default 0: look now).
   */
  health(maxAgeMs?: number): StoreHealth;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}

/** One collector of a fleet that shares a store, and its own NTP state (it is its guests' reference clock). */
export interface CollectorState {
  name: string;
  lastSeenMs: number;
  hostSynchronized: boolean | null;
}

/**
 * What a store shared by many collectors adds (PostgreSQL): each collector's own NTP state, and
 * fleet-wide jobs (retention, scheduled exports) that run once per period across all collectors.
 */
export interface SharedStore {
  readonly collector: string;
  recordCollector(state: { nowMs: number; hostSynchronized: boolean | null; hostNtp?: unknown }): Promise<void>;
  collectors(): Promise<CollectorState[]>;
  oncePerPeriod<T>(job: 'exports' | 'retention', periodMs: number, nowMs: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

export function isSharedStore(store: Store): store is Store & SharedStore {
  return typeof (store as Partial<SharedStore>).oncePerPeriod === 'function';
}
