/**
 * The compliance policy: a JSON document naming what a compliant guest is. Defaults follow the KVM
 * guidance (kvm-clock, RTC in UTC for Linux and local time for Windows, NTP synchronised).
 * Rules, applied in order, override the defaults for agents they match (by label, hostname
 * pattern, agent id pattern or platform); later rules win.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ClockwatchError, ErrorCodes } from './errors.js';
import { isKnownZone } from './timezone.js';

const Str = Type.String({ minLength: 1, maxLength: 256 });
const Enabled = { enabled: Type.Optional(Type.Boolean()) };

const ClocksourceRule = Type.Object({ ...Enabled, allowed: Type.Optional(Type.Array(Str, { minItems: 1, maxItems: 16 })) }, { additionalProperties: false });
const OffsetRule = Type.Object(
  { ...Enabled, warnMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), failMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
  { additionalProperties: false },
);
const RtcExpect = Type.Union([Type.Literal('auto'), Type.Literal('utc'), Type.Literal('localtime')]);
const RtcRule = Type.Object(
  { ...Enabled, expect: Type.Optional(RtcExpect), maxDriftS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
  { additionalProperties: false },
);
const TimezoneRule = Type.Object({ ...Enabled, expected: Type.Optional(Type.Union([Str, Type.Null()])) }, { additionalProperties: false });
const NtpRule = Type.Object(
  {
    ...Enabled,
    maxLastSyncAgeS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    allowedServers: Type.Optional(Type.Array(Str, { maxItems: 64 })),
  },
  { additionalProperties: false },
);
const ReportingRule = Type.Object(
  { ...Enabled, staleAfterIntervals: Type.Optional(Type.Number({ minimum: 1 })) },
  { additionalProperties: false },
);

const CheckSettings = Type.Object(
  {
    clocksource: Type.Optional(ClocksourceRule),
    offset: Type.Optional(OffsetRule),
    rtc: Type.Optional(RtcRule),
    timezone: Type.Optional(TimezoneRule),
    ntp: Type.Optional(NtpRule),
    reporting: Type.Optional(ReportingRule),
  },
  { additionalProperties: false },
);

const Match = Type.Object(
  {
    /** Every listed label must equal (values may use `*` wildcards). */
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    hostname: Type.Optional(Str),
    agentId: Type.Optional(Str),
    /** `linux`, `win32`, ... as Node's os.platform() names it. */
    platform: Type.Optional(Str),
  },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    version: Type.Literal(1),
    defaults: Type.Optional(CheckSettings),
    rules: Type.Optional(Type.Array(Type.Object({ name: Type.Optional(Str), match: Match, set: CheckSettings }, { additionalProperties: false }), { maxItems: 256 })),
  },
  { additionalProperties: false },
);

export type PolicyDocument = Static<typeof PolicySchema>;
export type CheckSettingsInput = Static<typeof CheckSettings>;

/** Fully resolved settings for one agent: every field present. */
export interface ResolvedPolicy {
  clocksource: { enabled: boolean; allowed: string[] };
  offset: { enabled: boolean; warnMs: number; failMs: number };
  rtc: { enabled: boolean; expect: 'auto' | 'utc' | 'localtime'; maxDriftS: number };
  timezone: { enabled: boolean; expected: string | null };
  ntp: { enabled: boolean; maxLastSyncAgeS: number; allowedServers: string[] };
  reporting: { enabled: boolean; staleAfterIntervals: number };
  /** Names of the rules that matched, in order, for the verdict's provenance. */
  rules: string[];
}

export const DEFAULT_SETTINGS: Readonly<Omit<ResolvedPolicy, 'rules'>> = Object.freeze({
  clocksource: { enabled: true, allowed: ['kvm-clock'] },
  offset: { enabled: true, warnMs: 100, failMs: 1000 },
  rtc: { enabled: true, expect: 'auto', maxDriftS: 5 },
  timezone: { enabled: true, expected: null },
  ntp: { enabled: true, maxLastSyncAgeS: 600, allowedServers: [] },
  reporting: { enabled: true, staleAfterIntervals: 3 },
});

/**
 * Built-in rules, applied before the policy file's own settings. Windows has no Linux clocksource
 * to report, so the clocksource check is off for it (hypervclock is audited on the host through
 * the domain XML instead); a policy can turn it back on with a rule of its own.
 */
export const BUILTIN_RULES: NonNullable<PolicyDocument['rules']> = [
  { name: 'builtin:windows-has-no-clocksource', match: { platform: 'win32' }, set: { clocksource: { enabled: false } } },
];

/** The policy used when none is configured: the defaults above. */
export const DEFAULT_POLICY: PolicyDocument = { version: 1 };

const compiledPolicy = Compile(PolicySchema);

/** Validates a parsed policy document; throws ClockwatchError(CW_ERR_POLICY_INVALID) naming the place. */
export function parsePolicy(value: unknown): PolicyDocument {
  if (!compiledPolicy.Check(value)) {
    const first = [...compiledPolicy.Errors(value)].find((e) => e.keyword !== 'boolean');
    const where = first?.instancePath || '/';
    throw new ClockwatchError(ErrorCodes.POLICY_INVALID, `policy invalid at ${where}: ${first?.message ?? 'does not match the policy schema'}`);
  }
  const doc = value as PolicyDocument;
  const check = (s: CheckSettingsInput | undefined, where: string) => {
    if (!s) return;
    const warn = s.offset?.warnMs;
    const fail = s.offset?.failMs;
    if (warn !== undefined && fail !== undefined && warn > fail) {
      throw new ClockwatchError(ErrorCodes.POLICY_INVALID, `policy invalid at ${where}/offset: warnMs (${warn}) exceeds failMs (${fail})`);
    }
    const zone = s.timezone?.expected;
    if (typeof zone === 'string' && !isKnownZone(zone)) {
      throw new ClockwatchError(ErrorCodes.POLICY_INVALID, `policy invalid at ${where}/timezone/expected: unknown IANA zone '${zone}'`);
    }
  };
  check(doc.defaults, '/defaults');
  doc.rules?.forEach((r, i) => check(r.set, `/rules/${i}/set`));
  return doc;
}

/** Parses policy JSON text; bad JSON gets the same stable code. */
export function parsePolicyText(text: string): PolicyDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ClockwatchError(ErrorCodes.POLICY_INVALID, `policy is not valid JSON: ${(e as Error).message}`);
  }
  return parsePolicy(value);
}

/** `*` matches any run of characters; everything else is literal; case-sensitive. */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
  return re.test(value);
}

export interface PolicySubject {
  agentId: string;
  hostname: string;
  labels: Record<string, string>;
  platform: string | null;
}

function matches(m: Static<typeof Match>, s: PolicySubject): boolean {
  if (m.hostname !== undefined && !wildcardMatch(m.hostname, s.hostname)) return false;
  if (m.agentId !== undefined && !wildcardMatch(m.agentId, s.agentId)) return false;
  if (m.platform !== undefined && (s.platform === null || !wildcardMatch(m.platform, s.platform))) return false;
  if (m.labels) {
    for (const [k, v] of Object.entries(m.labels)) {
      const have = s.labels[k];
      if (have === undefined || !wildcardMatch(v, have)) return false;
    }
  }
  return true;
}

function apply(target: Omit<ResolvedPolicy, 'rules'>, s: CheckSettingsInput | undefined): void {
  if (!s) return;
  for (const key of Object.keys(s) as (keyof CheckSettingsInput)[]) {
    const patch = s[key];
    if (patch) Object.assign(target[key], patch);
  }
}

/** Resolves the settings that apply to one agent: built-in defaults, then `defaults`, then each matching rule. */
export function resolvePolicy(doc: PolicyDocument, subject: PolicySubject): ResolvedPolicy {
  const base = JSON.parse(JSON.stringify(DEFAULT_SETTINGS)) as Omit<ResolvedPolicy, "rules">;
  const names: string[] = [];
  for (const r of BUILTIN_RULES) {
    if (matches(r.match, subject)) {
      apply(base, r.set);
      names.push(r.name ?? 'builtin');
    }
  }
  apply(base, doc.defaults);
  doc.rules?.forEach((r, i) => {
    if (matches(r.match, subject)) {
      apply(base, r.set);
      names.push(r.name ?? `rules[${i}]`);
    }
  });
  if (base.offset.warnMs > base.offset.failMs) base.offset.warnMs = base.offset.failMs;
  return { ...base, rules: names };
}
