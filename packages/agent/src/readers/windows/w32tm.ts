/**
 * The Windows Time service (W32Time) through `w32tm /query /status /verbose` and
 * `w32tm /query /configuration`.
 *
 * Status lines are the fields of MS-W32T's W32TIME_STATUS_INFO (§2.2.17, filled as §3.2.5.7
 * W32TimeQueryStatus says): Leap Indicator (sys.leap), Stratum, Precision, Root Delay, Root
 * Dispersion, ReferenceId (sys.refid), Last Successful Sync Time, Source, Poll Interval (sys.poll,
 * log2 s); /verbose adds Phase Offset, ClockRate, State Machine, Time Source Flags, Server Role,
 * Last Sync Error and Time since Last Good Sync Time. The labels, the words in parentheses and the
 * date are localised (domain.md §8), the order of the lines is not, and the values are numbers.
 * So the parser knows the English and German labels and, for any other language, reads the lines
 * by position — but only when every positional value has the shape its field must have. It never
 * parses the localised date: the age of the last sync comes from "Time since Last Good Sync Time"
 * (seconds), counted only when the date line holds a date at all (it says "unspecified" /
 * "nicht angegeben" when the service never synchronised).
 *
 * Not synchronised: leap indicator 3 (RFC 1305 "alarm condition"), stratum 0 (unspecified), or a
 * source that is the machine's own clock — "Local CMOS Clock", "Free-running System Clock", or the
 * reference id 0x4C4F434C ("LOCL") that a server configured as its own reliable source announces:
 * a clock that follows only itself is free-running (domain.md §8, issue 10 item 3).
 *
 * The configuration lines are registry value names (`Type: NTP (Local)`), which are not
 * localised; only the "(Local)" / "(Policy)" suffix is.
 */
import { ErrorCodes, type CommandResult, type ErrorInfo, type NtpInfo } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS, type ReaderContext } from '../../context.js';

export interface W32tmStatus {
  /** 0 no warning, 1/2 leap second pending, 3 not synchronised. */
  leap: number | null;
  stratum: number | null;
  /** log2 s. */
  precision: number | null;
  rootDelayS: number | null;
  rootDispersionS: number | null;
  /** 8 hex digits, upper case. */
  refId: string | null;
  /** The address or name in the ReferenceId line's parentheses (`source IP:  10.0.0.1`). */
  refAddress: string | null;
  /** Localised date, or "unspecified" in the display language: kept as text, never parsed. */
  lastSyncText: string | null;
  /** As printed: `time.windows.com,0x9`, `DC01.corp.example`, `Local CMOS Clock`. */
  source: string | null;
  /** The Poll Interval line: log2 s and the seconds in parentheses. */
  pollLog2: number | null;
  pollIntervalS: number | null;
  /** /verbose: the phase offset w32time reports, s; its sign is not documented (MS-W32T: "the SysPhaseOffset element value"). */
  phaseOffsetS: number | null;
  /** /verbose: the clock discipline's state, 0 Unset, 1 Hold, 2 Sync, 3 Spike (MS-W32T §2.2.7). */
  stateMachine: number | null;
  /** /verbose: 0 = the last sync succeeded. */
  lastSyncError: number | null;
  /** /verbose: s since the last good sync. */
  sinceLastGoodSyncS: number | null;
  /** Which label set matched: 'en', 'de', 'positional', or null when nothing could be read. */
  language: 'en' | 'de' | 'positional' | null;
}

type Field = keyof Omit<W32tmStatus, 'language' | 'refAddress' | 'pollIntervalS'>;

/**
 * Line order of `w32tm /query /status /verbose` (the same in every display language); 'ignore'
 * marks ClockRate, Time Source Flags and Server Role, which the report has no use for.
 */
const ORDER: readonly (Field | 'ignore')[] = [
  'leap', 'stratum', 'precision', 'rootDelayS', 'rootDispersionS', 'refId', 'lastSyncText', 'source', 'pollLog2',
  'phaseOffsetS', 'ignore', 'stateMachine', 'ignore', 'ignore', 'lastSyncError', 'sinceLastGoodSyncS',
];

const LABELS: Record<'en' | 'de', Record<string, Field | 'ignore'>> = {
  en: {
    'leap indicator': 'leap', stratum: 'stratum', precision: 'precision', 'root delay': 'rootDelayS', 'root dispersion': 'rootDispersionS',
    referenceid: 'refId', 'last successful sync time': 'lastSyncText', source: 'source', 'poll interval': 'pollLog2',
    'phase offset': 'phaseOffsetS', clockrate: 'ignore', 'state machine': 'stateMachine', 'time source flags': 'ignore', 'server role': 'ignore',
    'last sync error': 'lastSyncError', 'time since last good sync time': 'sinceLastGoodSyncS',
  },
  // German labels of the status block as German Windows prints them (provenance:
  // test/fixtures/commands/windows/README.md). The /verbose block is read by position.
  de: {
    sprungindikator: 'leap', stratum: 'stratum', 'präzision': 'precision', 'stammverzögerung': 'rootDelayS', stammabweichung: 'rootDispersionS',
    'referenz-id': 'refId', 'letzte erfolgreiche synchronisierungszeit': 'lastSyncText', quelle: 'source', abrufintervall: 'pollLog2',
  },
};

const FOLDED: Record<'en' | 'de', Record<string, Field | 'ignore'>> = {
  en: Object.fromEntries(Object.entries(LABELS.en).map(([k, v]) => [foldLabel(k), v])),
  de: Object.fromEntries(Object.entries(LABELS.de).map(([k, v]) => [foldLabel(k), v])),
};

const SECONDS = /^([+-]?\d+(?:[.,]\d+)?)\s*s\b/;
const SHAPES: Partial<Record<Field, RegExp>> = {
  // A number followed by its explanation in parentheses (or nothing), never by a decimal point.
  leap: /^[0-3]\s*(?:\(|$)/,
  stratum: /^\d{1,2}\s*(?:\(|$)/,
  precision: /^-?\d{1,3}\s*(?:\(|$)/,
  rootDelayS: SECONDS,
  rootDispersionS: SECONDS,
  refId: /^0x[0-9A-Fa-f]{8}\b/,
  pollLog2: /^-?\d{1,2}\s*\(\d+s\)/,
  phaseOffsetS: SECONDS,
  stateMachine: /^\d\s*(?:\(|$)/,
  lastSyncError: /^\d+\s*(?:\(|$)/,
  sinceLastGoodSyncS: SECONDS,
};

function secondsOf(v: string): number | null {
  const m = SECONDS.exec(v);
  return m ? Number(m[1]!.replace(',', '.')) : null;
}

function intOf(v: string): number | null {
  const m = /^[+-]?\d+/.exec(v);
  return m ? Number(m[0]) : null;
}

/**
 * Labels compared in ASCII only: w32tm writes in the console code page (cp850 on German Windows),
 * so "Präzision" may arrive as "Pr\uFFFDzision" once decoded as UTF-8; both fold to "przision".
 */
export function foldLabel(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/\s+/g, ' ').trim();
}

/** `Label: value` lines in order (the first colon ends the label; French puts a space before it). */
function pairs(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.push([foldLabel(line.slice(0, i)), line.slice(i + 1).trim()]);
  }
  return out;
}

export function parseW32tmStatus(text: string): W32tmStatus {
  const s: W32tmStatus = {
    leap: null, stratum: null, precision: null, rootDelayS: null, rootDispersionS: null, refId: null, refAddress: null,
    lastSyncText: null, source: null, pollLog2: null, pollIntervalS: null, phaseOffsetS: null, stateMachine: null,
    lastSyncError: null, sinceLastGoodSyncS: null, language: null,
  };
  const lines = pairs(text);
  const raw = new Map<Field, string>();
  let language: W32tmStatus['language'] = null;
  for (const lang of ['en', 'de'] as const) {
    const hits = lines.filter(([label]) => label in FOLDED[lang]);
    // "Stratum" is the same word in both: a language counts only with another label of its own.
    if (hits.filter(([label]) => label !== 'stratum').length < 2) continue;
    language = lang;
    for (const [label, value] of hits) {
      const f = FOLDED[lang][label]!;
      if (f !== 'ignore' && !raw.has(f)) raw.set(f, value);
    }
    break;
  }
  // Fields no label named (the /verbose block in German, every field in other languages) by
  // position, when the whole block has the expected shapes.
  if (lines.length >= 9) {
    const positional = new Map<Field, string>();
    let shapesOk = true;
    ORDER.forEach((f, i) => {
      const v = lines[i]?.[1];
      if (v === undefined || f === 'ignore') return;
      const shape = SHAPES[f];
      if (shape && !shape.test(v)) shapesOk = false;
      positional.set(f, v);
    });
    if (shapesOk) {
      for (const [f, v] of positional) if (!raw.has(f)) raw.set(f, v);
      language ??= 'positional';
    }
  }
  if (!language) return s;
  s.language = language;
  const get = (f: Field) => raw.get(f);
  const v = (f: Field, parse: (x: string) => number | null) => {
    const x = get(f);
    return x !== undefined && (!SHAPES[f] || SHAPES[f]!.test(x)) ? parse(x) : null;
  };
  s.leap = v('leap', intOf);
  s.stratum = v('stratum', intOf);
  s.precision = v('precision', intOf);
  s.rootDelayS = v('rootDelayS', secondsOf);
  s.rootDispersionS = v('rootDispersionS', secondsOf);
  const ref = get('refId');
  const refM = ref ? /^0x([0-9A-Fa-f]{8})\b(.*)$/.exec(ref) : null;
  if (refM) {
    s.refId = refM[1]!.toUpperCase();
    // "(source IP:  20.101.57.9)" / "(source name:  \"LOCL\")": the last token, localised label aside.
    const inner = /\(([^)]*)\)/.exec(refM[2]!)?.[1] ?? '';
    const last = inner.split(/[:\s]+/).filter(Boolean).pop()?.replace(/^"|"$/g, '') ?? '';
    s.refAddress = /^[0-9.]+$|^[0-9a-f:]+$|^[A-Z0-9]{1,4}$/i.test(last) ? last : null;
  }
  s.lastSyncText = get('lastSyncText') ?? null;
  s.source = get('source') ?? null;
  const poll = get('pollLog2');
  const pollM = poll ? /^(-?\d{1,2})\s*(?:\((\d+)s\))?/.exec(poll) : null;
  if (pollM) {
    s.pollLog2 = Number(pollM[1]);
    s.pollIntervalS = pollM[2] !== undefined ? Number(pollM[2]) : 2 ** s.pollLog2;
  }
  s.phaseOffsetS = v('phaseOffsetS', secondsOf);
  s.stateMachine = v('stateMachine', intOf);
  s.lastSyncError = v('lastSyncError', intOf);
  s.sinceLastGoodSyncS = v('sinceLastGoodSyncS', secondsOf);
  return s;
}

export interface W32tmConfiguration {
  /** NtpClient Type: NT5DS (domain hierarchy), NTP (NtpServer list), NoSync, AllSync. */
  type: string | null;
  /** NtpServer entries without their flags (`time.windows.com,0x9` → `time.windows.com`). */
  ntpServers: string[];
  ntpClientEnabled: boolean | null;
  /** SpecialPollInterval (s): used for peers whose flags have 0x1. */
  specialPollIntervalS: number | null;
  minPollLog2: number | null;
  maxPollLog2: number | null;
}

/** `w32tm /query /configuration`: `[Configuration]`, `[TimeProviders]` with one block per provider. */
export function parseW32tmConfiguration(text: string): W32tmConfiguration {
  const c: W32tmConfiguration = { type: null, ntpServers: [], ntpClientEnabled: null, specialPollIntervalS: null, minPollLog2: null, maxPollLog2: null };
  let section = '';
  let provider = '';
  for (const rawLine of text.replace(/\r/g, '').split('\n')) {
    const line = rawLine.trim();
    if (!line) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!.toLowerCase();
      provider = '';
      continue;
    }
    const m = /^(\w+):\s*(.*?)\s*(?:\([^()]*\))?$/.exec(line);
    if (!m) {
      // A provider heading: "NtpClient (Local)".
      if (section === 'timeproviders') provider = line.split(/\s/)[0]!.toLowerCase();
      continue;
    }
    const [, name, value] = m as unknown as [string, string, string];
    const n = /^\d+$/.test(value) ? Number(value) : null;
    if (section === 'configuration') {
      if (name === 'MinPollInterval') c.minPollLog2 = n;
      if (name === 'MaxPollInterval') c.maxPollLog2 = n;
    } else if (section === 'timeproviders' && provider === 'ntpclient') {
      if (name === 'Type') c.type = value || null;
      if (name === 'Enabled') c.ntpClientEnabled = n === null ? null : n !== 0;
      if (name === 'SpecialPollInterval') c.specialPollIntervalS = n;
      if (name === 'NtpServer') c.ntpServers = value.split(/\s+/).filter(Boolean).map((p) => p.replace(/,0x[0-9a-f]+$/i, ''));
    }
  }
  return c;
}

/** Sources that are the machine's own clock (not localised on English, German or Japanese Windows). */
const OWN_CLOCK = /^(Local CMOS Clock|Free-running System Clock|Lokale CMOS-Uhr)$/i;
const LOCL = '4C4F434C';

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

/** Pure: status (+ configuration, for what the status line could not say) → the report's NTP section. */
export function w32tmToNtp(s: W32tmStatus, config: W32tmConfiguration | null = null): NtpInfo {
  const server = s.source ? s.source.replace(/,0x[0-9a-f]+$/i, '').trim() : null;
  const ownClock = (s.source !== null && OWN_CLOCK.test(s.source.trim())) || s.refId === LOCL;
  let synchronized: boolean | null;
  // Reference id 0 alone says nothing: the Hyper-V provider reports it while synchronised.
  if (s.leap === 3 || s.stratum === 0 || ownClock) synchronized = false;
  else if (s.leap !== null && s.stratum !== null && s.stratum >= 1 && s.stratum <= 15) synchronized = true;
  else synchronized = null;
  // "Last Successful Sync Time" holds a date (digits) only when the service ever synchronised.
  const everSynced = s.lastSyncText !== null ? /\d/.test(s.lastSyncText) : null;
  const lastSyncAgeS = everSynced && s.sinceLastGoodSyncS !== null ? round(s.sinceLastGoodSyncS, 3) : null;
  let pollIntervalS = s.pollIntervalS;
  if (pollIntervalS === null && config) pollIntervalS = config.specialPollIntervalS ?? (config.maxPollLog2 !== null ? 2 ** config.maxPollLog2 : null);
  const synced = synchronized === true;
  // The own-clock source is what says why it is not synchronised: kept as the source's name, with
  // localReferenceOnly as chrony's 'local stratum' and ntpd's LOCAL(0) are.
  const own = ownClock ? { localReferenceOnly: true, serverName: s.source?.trim() || (s.refId === LOCL ? 'LOCL' : null) } : {};
  return {
    daemon: 'w32time',
    synchronized,
    server: synced ? server : null,
    stratum: synced ? s.stratum : null,
    // The phase offset's sign is undocumented; the time exchange measures the offset itself.
    offsetMs: null,
    lastSyncAgeS,
    pollIntervalS,
    // RFC 5905 root distance: root dispersion + root delay / 2.
    maxErrorMs: synced && s.rootDelayS !== null && s.rootDispersionS !== null ? round((s.rootDispersionS + s.rootDelayS / 2) * 1000) : null,
    ...own,
  };
}

/**
 * w32tm's failures carry an HRESULT whose number is not localised: 0x80070426
 * (ERROR_SERVICE_NOT_ACTIVE, "The service has not been started") and 0x80070005 (access denied).
 */
export function w32tmFailure(res: CommandResult): { stopped: boolean; error: ErrorInfo } {
  const text = `${res.stdout}\n${res.stderr}`.trim();
  if (res.error === 'ENOENT') return { stopped: false, error: { code: ErrorCodes.NOT_FOUND, message: 'w32tm.exe is not on PATH' } };
  if (res.error === 'TIMEOUT') return { stopped: false, error: { code: ErrorCodes.COMMAND_TIMEOUT, message: 'w32tm did not answer in time' } };
  if (/0x80070426/i.test(text)) return { stopped: true, error: { code: ErrorCodes.DAEMON_DOWN, message: 'the Windows Time service (W32Time) is not running (0x80070426)' } };
  if (/0x80070005/i.test(text)) return { stopped: false, error: { code: ErrorCodes.PERMISSION, message: 'w32tm: access denied (0x80070005)' } };
  const first = text.split('\n').find((l) => l.trim()) ?? '';
  return { stopped: false, error: { code: ErrorCodes.COMMAND_FAILED, message: `w32tm exited ${res.code ?? res.error ?? '?'}: ${first.trim().slice(0, 300)}` } };
}

const nulls = { synchronized: null, server: null, stratum: null, offsetMs: null, lastSyncAgeS: null, pollIntervalS: null, maxErrorMs: null };

export const W32TM_STATUS_ARGS = ['/query', '/status', '/verbose'] as const;
export const W32TM_CONFIG_ARGS = ['/query', '/configuration'] as const;

/** Two processes per cycle: the status, and the configuration (for what the status cannot say). */
export async function readW32time(ctx: ReaderContext): Promise<NtpInfo> {
  const timeoutMs = ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const res = await ctx.run('w32tm', [...W32TM_STATUS_ARGS], { timeoutMs });
  if (res.code !== 0 || res.error) {
    const f = w32tmFailure(res);
    // A stopped service is an answer: nothing keeps this clock synchronised.
    if (f.stopped) return { daemon: 'none', ...nulls };
    return { daemon: 'w32time', ...nulls, statusError: f.error };
  }
  const status = parseW32tmStatus(res.stdout);
  if (!status.language) {
    return { daemon: 'w32time', ...nulls, statusError: { code: ErrorCodes.PARSE, message: `w32tm /query /status printed nothing this agent can read: ${JSON.stringify(res.stdout.slice(0, 200))}` } };
  }
  const cfgRes = await ctx.run('w32tm', [...W32TM_CONFIG_ARGS], { timeoutMs });
  const config = cfgRes.code === 0 && !cfgRes.error ? parseW32tmConfiguration(cfgRes.stdout) : null;
  return w32tmToNtp(status, config);
}
