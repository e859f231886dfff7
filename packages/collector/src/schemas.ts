/**
 * Schemas of the collector-only responses and of query parameters. The shared API schemas
 * (@clockwatch/shared schema/api.ts) cover what agents and other tools read; these cover the
 * rest. fastify uses them to validate parameters, to serialise responses and for /docs.
 */
import Type, { type Static } from 'typebox';
import {
  AgentRowSchema,
  AgentStatusSchema,
  CheckResultSchema,
  CheckStatusSchema,
  HistoryPointSchema,
  VerdictSchema,
} from '@clockwatch/shared';

/** The most agents one page of the fleet view holds (GET /v1/agents?limit=). */
export const MAX_AGENTS_PAGE = 10_000;

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ErrorResponse = Type.Object(
  { statusCode: Type.Integer(), code: Type.String(), error: Type.String(), message: Type.String() },
  { description: 'Every error: a stable `code` (CW_ERR_*) and a message for humans' },
);

/** Milliseconds since the epoch, or an ISO 8601 date-time (parsed by the route). */
const Instant = Type.String({ minLength: 1, maxLength: 40, description: 'ms since the epoch, or an ISO 8601 date-time' });

export const AgentListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ maxLength: 100, description: 'comma-separated statuses: compliant, warning, noncompliant, stale, unknown' })),
    q: Type.Optional(Type.String({ maxLength: 128, description: 'substring of the agent id or hostname (case-insensitive)' })),
    label: Type.Optional(Type.Array(Type.String({ maxLength: 256, pattern: '^[^=]+=.*$' }), { maxItems: 16, description: 'k=v: agents whose label k is v (repeat for several, all must hold)' })),
    sort: Type.Optional(Type.Union([Type.Literal('id'), Type.Literal('severity')], { default: 'id', description: 'id (default) or severity: worst status first, then hostname, then id' })),
    // Bounded: 1e19 is an integer to JSON Schema but no SQLite INTEGER ("datatype mismatch", a 500).
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AGENTS_PAGE, default: 1000 })),
  },
  { additionalProperties: false },
);
export type AgentListQuery = Static<typeof AgentListQuery>;

export const AgentParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const RangeQuery = Type.Object(
  {
    from: Type.Optional(Instant),
    to: Type.Optional(Instant),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
export type RangeQuery = Static<typeof RangeQuery>;

export const HistoryQuery = Type.Object(
  {
    from: Type.Optional(Instant),
    to: Type.Optional(Instant),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    format: Type.Optional(
      Type.Union([Type.Literal('rows'), Type.Literal('columns')], {
        description: "'rows' (default): one object per point; 'columns': one array per field (compact)",
      }),
    ),
    resolution: Type.Optional(
      Type.Union([Type.Literal('raw'), Type.Literal('hour'), Type.Literal('auto')], {
        description: "columns only: 'raw' samples, 'hour' rollups, 'auto' (default): raw up to a day, hourly beyond",
      }),
    ),
    detail: Type.Optional(Type.Boolean({ description: 'columns, raw: every field of the row form (seq, reportId, receivedAtMs, guestEpochMs, ntpOffsetMs, checks)' })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;



/** GET /v1/agents/:id/history?format=columns: one array per field, point i across them. */
export const HistoryColumnsResponse = Type.Object({
  agentId: Type.String(),
  fromMs: Type.Number(),
  toMs: Type.Number(),
  resolution: Type.Union([Type.Literal('raw'), Type.Literal('hour')]),
  truncated: Type.Boolean(),
  points: Type.Integer(),
  legend: Type.Optional(Type.Object({ status: Type.Array(Type.String()), placedBy: Type.Array(Type.String()) })),
  columns: Type.Record(Type.String(), Type.Union([Type.Array(Type.Any()), Type.Record(Type.String(), Type.Array(Type.Any()))]), {
    description: 'raw: atMs, offsetMs, uncertaintyMs, rtcOffsetS, status (legend index), ntpSynchronized, stepCount, placedBy (legend index) [+ detail]; hour: atMs (hour start), reports, measured, offsetMinMs, offsetMaxMs, offsetMeanMs, uncertaintyMaxMs, compliantShare',
  }),
});


export const AgentDetailQuery = Type.Object(
  { driftHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 24 * 400, description: 'window of the drift estimate (default 24)' })) },
  { additionalProperties: false },
);

export const DriftSchema = Type.Object({
  ppm: Type.Number({ description: 'rate of change of the offset, parts per million (µs/s); positive: the guest gains' }),
  points: Type.Integer(),
  spanMs: Type.Number(),
  segments: Type.Integer({ description: 'stretches between recorded clock steps' }),
  steps: Type.Integer({ description: 'clock steps recorded in the window' }),
  fromMs: Type.Number(),
  toMs: Type.Number(),
});

/** A domain as the libvirt audit last read it (the agent view and GET /v1/libvirt). */
export const AuditedDomainFields = {
  name: Nullable(Type.String()),
  uuid: Nullable(Type.String()),
  source: Type.String(),
  live: Type.Boolean(),
  /** When the host last read this domain (host ms). */
  readAtMs: Type.Number(),
  /** Why the latest read did not return it (libvirtd stopped, virsh timed out); null: it did. */
  readError: Nullable(Type.String()),
};

/** The libvirt-clock check with its details (the agent view and GET /v1/libvirt). */
export const LibvirtCheckSchema = Type.Object({
  status: CheckStatusSchema,
  reason: Type.String(),
  findings: Type.Array(Type.Object({ status: CheckStatusSchema, text: Type.String() })),
  family: Nullable(Type.String()),
  familySource: Nullable(Type.String({ description: 'agent (its report) or libosinfo (the domain metadata)' })),
  recommendedXml: Nullable(Type.String({ description: 'the whole <clock> element virt-manager writes for this guest family' })),
});

export const AgentDetailSchema = Type.Object({
  agent: AgentRowSchema,
  /** The collector that measured the agent (its --name). */
  collector: Type.String(),
  firstSeenMs: Type.Number(),
  reportId: Type.String(),
  seq: Type.Integer(),
  /** The verdict of the latest report, its reporting check evaluated now. */
  verdict: VerdictSchema,
  measurement: Type.Object({
    offsetMs: Nullable(Type.Number()),
    uncertaintyMs: Nullable(Type.Number()),
    delayMs: Nullable(Type.Number()),
    offsetError: Nullable(Type.String()),
    rtcOffsetS: Nullable(Type.Number()),
    rtcInference: Nullable(Type.String()),
    rtcExplanation: Nullable(Type.String()),
    receivedAtMs: Type.Number(),
    hostSynchronized: Nullable(Type.Boolean()),
  }),
  drift: Nullable(DriftSchema),
  /** The policy's limits for this agent (its rules applied), e.g. to draw them on a plot. */
  limits: Type.Object({ offset: Type.Object({ enabled: Type.Boolean(), warnMs: Type.Number(), failMs: Type.Number() }) }),
  /** Present when the libvirt audit is configured: the domain joined by SMBIOS UUID and its libvirt-clock verdict, or why there is none. */
  libvirt: Type.Optional(
    Type.Object({
      clock: Type.Optional(
        Nullable(
          Type.Object({
            offset: Type.String(),
            adjustment: Nullable(Type.String()),
            basis: Nullable(Type.String()),
            timezone: Nullable(Type.String()),
            start: Nullable(Type.String()),
            timers: Type.Array(Type.Object({ name: Type.String(), tickpolicy: Nullable(Type.String()), present: Nullable(Type.String()), track: Nullable(Type.String()) })),
          }),
        ),
      ),
      domain: Nullable(
        Type.Object({
          ...AuditedDomainFields,
          /** How long ago the host last read it, s. */
          ageS: Type.Number(),
        }),
      ),
      check: Nullable(LibvirtCheckSchema),
      note: Nullable(Type.String()),
    }),
  ),
  /** Versions of the report's static parts (identity, OS, clocksources, RTC mode, timezone, NTP daemon). */
  changes: Type.Array(Type.Object({ hash: Type.String(), firstSeenMs: Type.Number() })),
  /** The latest report as the agent sent it (schema ClockwatchReportV1). */
  report: Type.Unknown(),
});

export const HistoryResponse = Type.Object({
  agentId: Type.String(),
  fromMs: Type.Number(),
  toMs: Type.Number(),
  /** True when the range held more points than `limit`: these are the latest `limit` of them. */
  truncated: Type.Boolean(),
  points: Type.Array(HistoryPointSchema),
});

export const RollupResponse = Type.Object({
  agentId: Type.String(),
  fromMs: Type.Number(),
  toMs: Type.Number(),
  rollups: Type.Array(
    Type.Object({
      hourMs: Type.Number(),
      reports: Type.Integer(),
      measured: Type.Integer(),
      offsetMinMs: Nullable(Type.Number()),
      offsetMaxMs: Nullable(Type.Number()),
      offsetMeanMs: Nullable(Type.Number()),
      uncertaintyMaxMs: Nullable(Type.Number()),
      compliantShare: Type.Number(),
    }),
  ),
});

export const HealthResponse = Type.Object({
  status: Type.Literal('ok'),
  version: Type.String(),
  uptimeS: Type.Number(),
  nowMs: Type.Number(),
  store: Type.String(),
  auth: Type.Object({ reports: Type.String(), reads: Type.String() }),
  host: Type.Object({
    synchronized: Nullable(Type.Boolean()),
    daemon: Nullable(Type.String()),
    server: Nullable(Type.String()),
    stratum: Nullable(Type.Integer()),
    offsetMs: Nullable(Type.Number()),
    maxErrorMs: Nullable(Type.Number()),
    lastSyncAgeS: Nullable(Type.Number()),
    checkedAtMs: Nullable(Type.Number()),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
    /** Present when the host is not synchronised: what that means for the verdicts. */
    note: Nullable(Type.String()),
  }),
});

export { AgentStatusSchema, CheckResultSchema };

/** The history route answers in the row form or in columns (?format=). */
export const HistoryAnyResponse = Type.Union([HistoryResponse, HistoryColumnsResponse]);
