/**
 * Schemas of what the collector's HTTP API takes and answers. The collector serves them (fastify
 * uses them for validation and serialisation, /docs shows them) and the agent and the terminal
 * status read them.
 */
import Type, { type Static } from 'typebox';
import { CHECK_IDS, type CheckId } from '../checks/index.js';

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ApiErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    error: Type.String(),
    message: Type.String(),
  },
  { $id: 'ApiError' },
);
export type ApiError = Static<typeof ApiErrorSchema>;

export const TimeRequestSchema = Type.Object(
  { t1: Type.Number({ minimum: 0, maximum: 4_102_444_800_000 }) },
  { additionalProperties: false },
);
export const TimeResponseSchema = Type.Object({ t1: Type.Number(), t2: Type.Number(), t3: Type.Number() });
export type TimeResponse = Static<typeof TimeResponseSchema>;

export const CheckStatusSchema = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail'), Type.Literal('unknown')]);
export const AgentStatusSchema = Type.Union([
  Type.Literal('compliant'),
  Type.Literal('warning'),
  Type.Literal('noncompliant'),
  Type.Literal('stale'),
  Type.Literal('unknown'),
]);

/** A check id: one of the registry's (checks/index.ts), so the OpenAPI document lists them. */
export const CheckIdSchema = Type.Unsafe<CheckId>(Type.String({ enum: [...CHECK_IDS] }));

export const CheckResultSchema = Type.Object({
  id: CheckIdSchema,
  status: CheckStatusSchema,
  reason: Type.String(),
});

export const VerdictSchema = Type.Object({
  status: AgentStatusSchema,
  checks: Type.Array(CheckResultSchema),
  rules: Type.Array(Type.String()),
});

/** One result per report in an ingest request, in request order. */
export const IngestResultSchema = Type.Object({
  reportId: Type.String(),
  agentId: Type.String(),
  /** false when this reportId was already stored (a resend): nothing was written twice. */
  stored: Type.Boolean(),
  duplicate: Type.Boolean(),
  offsetMs: Nullable(Type.Number()),
  uncertaintyMs: Nullable(Type.Number()),
  rtcOffsetS: Nullable(Type.Number()),
  verdict: VerdictSchema,
});
export type IngestResult = Static<typeof IngestResultSchema>;

/**
 * A report of an array that the collector refused (it is wrong, resending will not help): the
 * agent drops it from its spool. `index` is its position in the request array.
 */
export const IngestRejectionSchema = Type.Object({
  index: Type.Integer(),
  reportId: Nullable(Type.String()),
  statusCode: Type.Integer(),
  code: Type.String(),
  message: Type.String(),
});
export type IngestRejection = Static<typeof IngestRejectionSchema>;

export const IngestResponseSchema = Type.Object({
  accepted: Type.Integer(),
  results: Type.Array(IngestResultSchema),
  /** Only for array requests: the reports refused one by one (the others were stored). */
  rejected: Type.Optional(Type.Array(IngestRejectionSchema)),
});
export type IngestResponse = Static<typeof IngestResponseSchema>;

export const AgentRowSchema = Type.Object({
  id: Type.String(),
  hostname: Type.String(),
  status: AgentStatusSchema,
  lastSeenMs: Type.Number(),
  /** Host time of the latest measurement (the report's collection time on the host clock). */
  atMs: Type.Optional(Type.Number()),
  /** The agent's report interval: it is stale after the policy's multiple of it. */
  intervalS: Type.Optional(Type.Number()),
  offsetMs: Nullable(Type.Number()),
  uncertaintyMs: Nullable(Type.Number()),
  rtcOffsetS: Nullable(Type.Number()),
  clocksource: Nullable(Type.String()),
  timezone: Nullable(Type.String()),
  ntpSynchronized: Nullable(Type.Boolean()),
  systemUuid: Nullable(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  checks: Type.Record(Type.String(), CheckStatusSchema),
});
export type AgentRow = Static<typeof AgentRowSchema>;

export const AgentListSchema = Type.Object({
  /** The collector that measured these agents (its --name). */
  collector: Type.Optional(Type.String()),
  total: Type.Integer(),
  offset: Type.Integer(),
  limit: Type.Integer(),
  agents: Type.Array(AgentRowSchema),
});

export const HistoryPointSchema = Type.Object({
  reportId: Type.String(),
  seq: Type.Integer(),
  /** Host time of the measurement (the guest's collection time on the host clock); history is ordered by it. */
  atMs: Type.Optional(Type.Number()),
  receivedAtMs: Type.Number(),
  guestEpochMs: Type.Number(),
  offsetMs: Nullable(Type.Number()),
  uncertaintyMs: Nullable(Type.Number()),
  rtcOffsetS: Nullable(Type.Number()),
  status: AgentStatusSchema,
  stepCount: Type.Integer(),
  /** The guest's own NTP daemon: synchronised, and its offset estimate (ms), as reported. */
  ntpSynchronized: Type.Optional(Nullable(Type.Boolean())),
  ntpOffsetMs: Type.Optional(Nullable(Type.Number())),
  /** Per-check status at ingest (the reporting check is not kept per sample). */
  checks: Type.Optional(Type.Record(Type.String(), CheckStatusSchema)),
  /**
   * How atMs was found: 'probe' (this report's offset), 'last-offset' (no time probe — e.g. spooled
   * during an outage — so the guest clock corrected by the agent's last measured offset),
   * 'guest-clock' (no offset ever measured), 'receipt' (the placement would lie after receipt).
   */
  placedBy: Type.Optional(Type.Union([Type.Literal('probe'), Type.Literal('last-offset'), Type.Literal('guest-clock'), Type.Literal('receipt')])),
});
export type HistoryPoint = Static<typeof HistoryPointSchema>;

export const ComplianceSummarySchema = Type.Object({
  atMs: Type.Number(),
  agents: Type.Integer(),
  byStatus: Type.Record(Type.String(), Type.Integer()),
  /** check id → number of agents failing it (status fail), and warning (warn) / unknown. */
  byCheck: Type.Record(Type.String(), Type.Object({ fail: Type.Integer(), warn: Type.Integer(), unknown: Type.Integer() })),
  host: Type.Object({ synchronized: Nullable(Type.Boolean()), daemon: Nullable(Type.String()) }),
  /** Present (true) when the collector runs the host audit (--host-audit): GET /v1/libvirt lists its guests without an agent. */
  hostAudit: Type.Optional(Type.Boolean()),
});
export type ComplianceSummary = Static<typeof ComplianceSummarySchema>;
