/**
 * Report schema v1: one JSON Schema (built with typebox) and the TypeScript types derived from it.
 * The agent builds reports of this shape, the collector validates every report against it.
 *
 * Units are in the names (`epochMs`, `offsetS`, `intervalS`); times on the wire are milliseconds since
 * the Unix epoch as JSON numbers, with sub-millisecond fractions where the clock gives them.
 * A section that cannot be read carries `error` and no invented values.
 */
import Type, { type Static } from 'typebox';

export const SCHEMA_VERSION = 1 as const;

/** Bounds that keep a hostile report from costing the collector memory or disk. */
export const LIMITS = {
  shortString: 256,
  longString: 2048,
  listItems: 64,
  labels: 32,
  events: 256,
  samples: 32,
  /** Host clock (the collector's t2/t3): 2000-01-01Z .. 2100-01-01Z, anything else is not a reading. */
  minEpochMs: 946_684_800_000,
  maxEpochMs: 4_102_444_800_000,
  /**
   * Guest clock readings (system time, RTC, t1/t4, events) may start at the epoch: a guest whose
   * clock fell back to 1970 is exactly what must be reported. The upper bound stays 2100: beyond
   * it a value is treated as malformed input (the fault corpus sends year 2200), not a reading.
   */
  maxGuestEpochMs: 4_102_444_800_000,
} as const;

const Str = (max: number = LIMITS.shortString) => Type.String({ maxLength: max });
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' });
const EpochMs = Type.Number({ minimum: LIMITS.minEpochMs, maximum: LIMITS.maxEpochMs });
const GuestEpochMs = Type.Number({ minimum: 0, maximum: LIMITS.maxGuestEpochMs });
const NonNeg = Type.Number({ minimum: 0 });
/**
 * A count or sequence number: an integer JSON can carry exactly. 1e308 is an integer to JSON
 * Schema, and 2^53+1 parses to 2^53; both would be stored rounded (or as REAL in SQLite).
 */
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ErrorInfoSchema = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64 }), message: Str(LIMITS.longString) },
  { additionalProperties: false },
);
export type ErrorInfo = Static<typeof ErrorInfoSchema>;

/** A section that could not be read. */
const SectionError = Type.Object({ error: ErrorInfoSchema }, { additionalProperties: false });
export type SectionError = Static<typeof SectionError>;

// A pattern key becomes `patternProperties`, which alone lets any other key through:
// additionalProperties: false is what refuses a key that does not match.
const Labels = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,62}$' }),
  Str(),
  { maxProperties: LIMITS.labels, additionalProperties: false },
);

export const AgentSchema = Type.Object(
  {
    id: Id,
    hostname: Str(),
    version: Str(64),
    /** SMBIOS system UUID (equals the libvirt domain UUID); null when unreadable. */
    systemUuid: Nullable(Str(64)),
    idSource: Type.Optional(Type.Union([Type.Literal('config'), Type.Literal('machine-id'), Type.Literal('smbios'), Type.Literal('generated')])),
    labels: Labels,
    /**
     * One agent life: generated when the agent starts with an empty spool (a reinstall, a wiped
     * state directory) and kept with it. `seq` counts within a life; a new instanceId tells the
     * collector that a sequence that starts again is a new life, not old reports. Optional: older
     * agents send none, and the collector then tells a reset by the guest's clock.
     */
    instanceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' })),
    intervalS: Type.Number({ minimum: 1, maximum: 86_400 }),
    /** Delivery bookkeeping from the agent's spool. */
    spool: Type.Optional(
      Type.Object(
        {
          pending: Count,
          dropped: Count,
          rejected: Count,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const OsData = Type.Object(
  {
    platform: Str(32),
    distro: Nullable(Str()),
    release: Nullable(Str()),
    kernel: Nullable(Str()),
    arch: Nullable(Str(32)),
    /** Hypervisor name (kvm, xen, hyperv, vmware, ...) or 'none'; null when it could not be told. */
    virtualization: Nullable(Str(64)),
  },
  { additionalProperties: false },
);

const ClocksourceData = Type.Object(
  {
    current: Str(64),
    available: Type.Array(Str(64), { maxItems: LIMITS.listItems }),
    /**
     * x86 only: the CPU flags `constant_tsc` and `nonstop_tsc` (/proc/cpuinfo) are both set — an
     * invariant TSC, for which kvmclock_init lowers kvm-clock's rating to 299 so that `tsc` (300)
     * wins (arch/x86/kernel/kvmclock.c). Absent from older agents and on other architectures.
     */
    invariantTsc: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const SystemTime = Type.Object(
  {
    /** Wall clock (the OS clock, Date.now()) at collection. */
    epochMs: GuestEpochMs,
    uptimeS: NonNeg,
  },
  { additionalProperties: false },
);

const RtcMode = Type.Union([Type.Literal('UTC'), Type.Literal('LOCAL')]);
const RtcModeSource = Type.Object(
  { source: Str(64), mode: Nullable(RtcMode), detail: Type.Optional(Str()) },
  { additionalProperties: false },
);
const RtcModeFields = {
  /** Configured mode; null when no source says. */
  mode: Nullable(RtcMode),
  /** The source the mode was taken from (e.g. '/etc/adjtime', 'default', 'RealTimeIsUniversal'). */
  modeSource: Nullable(Str(64)),
  /** Every source read, with what it said; more than one distinct mode is a conflict. */
  modeSources: Type.Array(RtcModeSource, { maxItems: 8 }),
};
const RtcData = Type.Object(
  {
    /** RTC fields read as if they were UTC (what sysfs gives), ms since epoch. */
    epochMs: GuestEpochMs,
    /** Guest wall clock when the RTC was read. */
    readAtMs: GuestEpochMs,
    device: Str(64),
    source: Type.Union([Type.Literal('sysfs'), Type.Literal('proc'), Type.Literal('hwclock'), Type.Literal('registry')]),
    ...RtcModeFields,
  },
  { additionalProperties: false },
);
/** No RTC value, but the configured mode may still be known. */
const RtcError = Type.Object(
  { error: ErrorInfoSchema, ...Type.Partial(Type.Object(RtcModeFields)).properties },
  { additionalProperties: false },
);

const TimezoneSourceSchema = Type.Object(
  {
    source: Str(64),
    name: Nullable(Str(128)),
    detail: Type.Optional(Str(LIMITS.longString)),
  },
  { additionalProperties: false },
);
const TimezoneData = Type.Object(
  {
    /** IANA name; null when no source names one (e.g. a copied zone file matching nothing). */
    name: Nullable(Str(128)),
    /** UTC offset in seconds at systemTime.epochMs (east positive). */
    offsetS: Type.Integer({ minimum: -18 * 3600, maximum: 18 * 3600 }),
    /** Display hint only: never parsed. */
    abbreviation: Nullable(Str(32)),
    dst: Nullable(Type.Boolean()),
    /** Which source the name came from. */
    source: Str(64),
    sources: Type.Array(TimezoneSourceSchema, { maxItems: 16 }),
    /** Other IANA names whose zone file is byte-identical (copied /etc/localtime). */
    matches: Type.Optional(Type.Array(Str(128), { maxItems: LIMITS.listItems })),
    disagreements: Type.Array(Str(LIMITS.longString), { maxItems: 16 }),
  },
  { additionalProperties: false },
);

const NtpData = Type.Object(
  {
    daemon: Str(64),
    synchronized: Nullable(Type.Boolean()),
    server: Nullable(Str()),
    stratum: Nullable(Type.Integer({ minimum: 0, maximum: 16 })),
    offsetMs: Nullable(Type.Number()),
    lastSyncAgeS: Nullable(NonNeg),
    pollIntervalS: Nullable(NonNeg),
    maxErrorMs: Nullable(NonNeg),
    // Optional fields below: older agents' reports stay valid without them.
    /** The configured name of the source in use (chronyc sourcename, timesyncd ServerName). */
    serverName: Type.Optional(Nullable(Str())),
    /** The address of the source in use (chronyc tracking, ntpq refid, timesyncd ServerAddress). */
    serverAddress: Type.Optional(Nullable(Str())),
    /**
     * The daemon follows only its own local reference (chrony `local stratum N`, refid 7F7F0101
     * "LOCL"; ntpd LOCAL(0), 127.127.1.0): the clock is free-running, reported as not synchronised.
     */
    localReferenceOnly: Type.Optional(Type.Boolean()),
    /** Sources configured / answering (reach ≠ 0) / selectable (chrony `*`, `+`, `-`). */
    sources: Type.Optional(
      Type.Object(
        { total: Type.Integer({ minimum: 0, maximum: 10000 }), reachable: Type.Integer({ minimum: 0, maximum: 10000 }), selectable: Type.Integer({ minimum: 0, maximum: 10000 }) },
        { additionalProperties: false },
      ),
    ),
    /** Leap status: chrony "Leap status", ntpd leap bits, RFC 5905 §7.3 LI. */
    leap: Type.Optional(Nullable(Type.Union([Type.Literal('none'), Type.Literal('insert'), Type.Literal('delete'), Type.Literal('unsynchronised')]))),
    /** The kernel's discipline (adjtimex(2) modes=0): maxerror in ms and the STA_INS/STA_DEL leap flags. */
    kernel: Type.Optional(
      Type.Object(
        { maxErrorMs: NonNeg, leap: Type.Union([Type.Literal('none'), Type.Literal('insert'), Type.Literal('delete')]), unsync: Type.Boolean() },
        { additionalProperties: false },
      ),
    ),
    /**
     * A periodic one-shot sync (cron or a systemd timer running ntpdate, sntp, `chronyd -q` or
     * `chronyc makestep`), when no daemon runs: the sync method with its schedule.
     */
    oneShot: Type.Optional(
      Type.Object(
        {
          tool: Str(64),
          command: Str(LIMITS.longString),
          /** Where it was found: '/etc/cron.d/ntp', 'ntpdate.timer'. */
          source: Str(),
          /** The schedule as written ('*\/5 * * * *', 'OnUnitActiveSec=5min'). */
          schedule: Str(),
          /** Longest gap between two runs, s; null when the schedule cannot be read as periodic. */
          intervalS: Nullable(NonNeg),
        },
        { additionalProperties: false },
      ),
    ),
    /** Present when the daemon was found but its status could not be read. */
    statusError: Type.Optional(ErrorInfoSchema),
  },
  { additionalProperties: false },
);

export const SampleSchema = Type.Object(
  { t1: GuestEpochMs, t2: EpochMs, t3: EpochMs, t4: GuestEpochMs },
  { additionalProperties: false },
);
export type Sample = Static<typeof SampleSchema>;

const TimeProbeData = Type.Object(
  {
    samples: Type.Array(SampleSchema, { minItems: 1, maxItems: LIMITS.samples }),
    /** Resolution of the agent's timestamps in ms (sub-ms anchored wall clock: ~0.001). */
    resolutionMs: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const ClockEventSchema = Type.Object(
  {
    kind: Type.Literal('step'),
    /** Guest wall clock after the step was seen. */
    atMs: GuestEpochMs,
    /** Wall-clock progress minus monotonic progress: positive = the clock jumped forward. */
    stepMs: Type.Number(),
    /**
     * Why the wall clock moved against CLOCK_MONOTONIC: 'suspend' when CLOCK_BOOTTIME (/proc/uptime,
     * which counts suspend, clock_gettime(2)) moved with it, 'step' otherwise. Absent: a step (older agents).
     */
    cause: Type.Optional(Type.Union([Type.Literal('step'), Type.Literal('suspend')])),
    /** Time spent suspended, ms (cause 'suspend'). */
    suspendedMs: Type.Optional(NonNeg),
  },
  { additionalProperties: false },
);
export type ClockEvent = Static<typeof ClockEventSchema>;

const section = <T extends Type.TSchema>(t: T) => Type.Union([t, SectionError]);

export const ReportSchema = Type.Object(
  {
    schemaVersion: Type.Literal(SCHEMA_VERSION),
    reportId: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    seq: Count,
    agent: AgentSchema,
    os: section(OsData),
    clocksource: section(ClocksourceData),
    systemTime: SystemTime,
    rtc: Type.Union([RtcData, RtcError]),
    timezone: section(TimezoneData),
    ntp: section(NtpData),
    timeProbe: section(TimeProbeData),
    events: Type.Array(ClockEventSchema, { maxItems: LIMITS.events }),
  },
  { additionalProperties: false, $id: 'ClockwatchReportV1' },
);

export type Report = Static<typeof ReportSchema>;
export type AgentInfo = Static<typeof AgentSchema>;
export type OsSection = Report['os'];
export type ClocksourceSection = Report['clocksource'];
export type RtcSection = Report['rtc'];
export type TimezoneSection = Report['timezone'];
export type NtpSection = Report['ntp'];
export type TimeProbeSection = Report['timeProbe'];
export type OsInfo = Static<typeof OsData>;
export type ClocksourceInfo = Static<typeof ClocksourceData>;
export type RtcInfo = Static<typeof RtcData>;
export type RtcErrorInfo = Static<typeof RtcError>;
export type RtcModeName = Static<typeof RtcMode>;
export type RtcModeSourceInfo = Static<typeof RtcModeSource>;
export type TimezoneInfo = Static<typeof TimezoneData>;
export type TimezoneSourceInfo = Static<typeof TimezoneSourceSchema>;
export type NtpInfo = Static<typeof NtpData>;
export type TimeProbeInfo = Static<typeof TimeProbeData>;

/** Narrowing helper: true when the section carries data rather than an error. */
export function isOk<S extends object>(s: S): s is Exclude<S, { error: ErrorInfo }> {
  return !('error' in s && (s as { error?: unknown }).error !== undefined);
}
