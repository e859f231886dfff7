/**
 * The compliance policy: a JSON document naming what a compliant guest is. Defaults follow the KVM
 * guidance (kvm-clock, RTC in UTC for Linux and local time for Windows, NTP synchronised).
 * Rules, applied in order, override the defaults for agents they match (by label, hostname
 * pattern, agent id pattern or platform); later rules win.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ClockwatchError, ErrorCodes } from './errors.js';
import { CHECKS, type CheckId, type CheckSettingsMap } from './checks/index.js';
import { isKnownZone } from './timezone.js';

const Str = Type.String({ minLength: 1, maxLength: 256 });

/** Each check's policy part comes from its own file (checks/<id>.ts). */
const CheckSettings = Type.Object(
  Object.fromEntries(CHECKS.map((c) => [c.id, Type.Optional(c.policySchema)])) as Record<CheckId, ReturnType<typeof Type.Optional>>,
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

/** What a policy file may set for the checks: every field of every check's part is optional. */
export type CheckSettingsInput = { [K in CheckId]?: Partial<CheckSettingsMap[K]> };

export interface PolicyRule {
  name?: string;
  match: Static<typeof Match>;
  set: CheckSettingsInput;
}

export interface PolicyDocument {
  version: 1;
  defaults?: CheckSettingsInput;
  rules?: PolicyRule[];
}

/** Fully resolved settings for one agent: every check's settings, every field present. */
export type ResolvedPolicy = CheckSettingsMap & {
  /** Names of the rules that matched, in order, for the verdict's provenance. */
  rules: string[];
};

export const DEFAULT_SETTINGS: Readonly<CheckSettingsMap> = Object.freeze(
  Object.fromEntries(CHECKS.map((c) => [c.id, c.defaults])) as unknown as CheckSettingsMap,
);

/**
 * Built-in rules, applied before the policy file's own settings. Windows has no Linux clocksource
 * to report, so the clocksource check is off for it (hypervclock is audited on the host through
 * the domain XML instead); a policy can turn it back on with a rule of its own.
 */
export const BUILTIN_RULES: PolicyRule[] = [
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
  const doc = value as unknown as PolicyDocument;
  const check = (s: CheckSettingsInput | undefined, where: string) => {
    if (!s) return;
    const warn = s.offset?.warnMs;
    const fail = s.offset?.failMs;
    if (warn !== undefined && fail !== undefined && warn > fail) {
      throw new ClockwatchError(ErrorCodes.POLICY_INVALID, `policy invalid at ${where}/offset: warnMs (${warn}) exceeds failMs (${fail})`);
    }
    const zone = s.timezone?.expected;
    // A bare abbreviation (CST, BST, IST) is no zone: Intl may take CST as US Central, glibc as UTC.
    if (typeof zone === 'string' && (!isKnownZone(zone) || (/^[A-Z]{2,5}$/.test(zone) && zone !== 'UTC' && zone !== 'GMT'))) {
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

function apply(target: CheckSettingsMap, s: CheckSettingsInput | undefined): void {
  if (!s) return;
  for (const key of Object.keys(s) as CheckId[]) {
    const patch = s[key];
    if (patch) Object.assign(target[key], patch);
  }
}

/** Resolves the settings that apply to one agent: built-in defaults, then `defaults`, then each matching rule. */
export function resolvePolicy(doc: PolicyDocument, subject: PolicySubject): ResolvedPolicy {
  const base = JSON.parse(JSON.stringify(DEFAULT_SETTINGS)) as CheckSettingsMap;
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
