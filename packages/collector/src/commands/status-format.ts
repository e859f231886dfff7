/**
 * The terminal fleet table of `clockwatch-collector status`: one line per agent — status, hostname
 * and id, offset ± uncertainty, RTC offset and last report — fitted to the terminal width, then each
 * check that did not pass on its own indented lines with its reason (word-wrapped) and its runbook.
 * Pure: agents in, text out; colours (ANSI SGR) only when asked for.
 */
import { compareWorstFirst, formatOffset, runbookFile, runbookUrl, SEVERITY_ORDER, type AgentStatus, type CheckStatus } from '@clockwatch/shared';

export interface StatusProblem {
  check: string;
  status: CheckStatus;
  reason: string | null;
}

export interface StatusAgent {
  id: string;
  hostname: string;
  status: AgentStatus;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  /** Guest RTC (read as UTC) minus host UTC, s; null when unknown or no RTC. */
  rtcOffsetS?: number | null;
  lastSeenMs: number;
  checks: Record<string, CheckStatus>;
  /** Checks that did not pass, worst first, with their reasons when known. */
  problems: StatusProblem[];
  /** Where the verdict's evidence came from (absent: the agent's report). */
  evidence?: 'agent' | 'host audit' | 'both';
}

export interface StatusDocument {
  atMs: number;
  source: string;
  summary: { agents: number; byStatus: Record<AgentStatus, number> };
  agents: StatusAgent[];
}

export interface FormatOptions {
  color: boolean;
  /** Terminal columns to fit (default 100, what a pipe or a file gets). */
  width?: number;
}

/** The width when stdout is not a terminal and no --width is given. */
export const DEFAULT_WIDTH = 100;
/** Narrower than this, nothing useful fits: lines then simply run longer. */
const MIN_WIDTH = 40;
const REASON_INDENT = 4;
const CONTINUATION_INDENT = 6;

const CHECK_RANK: Record<CheckStatus, number> = { fail: 0, unknown: 1, warn: 2, pass: 3 };
const SGR: Record<AgentStatus, string> = { compliant: '32', warning: '33', noncompliant: '1;31', stale: '35', unknown: '90' };
const CHECK_SGR: Record<CheckStatus, string> = { pass: '32', warn: '33', fail: '31', unknown: '90' };

/** Agents by severity, then hostname, then id (the order of the exports). */
export function sortAgents<T extends { status: AgentStatus; hostname: string; id: string }>(agents: readonly T[]): T[] {
  return [...agents].sort(compareWorstFirst);
}

/** The checks of a fleet row that did not pass, worst first, with the reasons of a verdict when given. */
export function problemsOf(checks: Record<string, CheckStatus>, reasons: Record<string, string> = {}): StatusProblem[] {
  return Object.entries(checks)
    .filter(([, s]) => s !== 'pass')
    .sort(([a, sa], [b, sb]) => CHECK_RANK[sa] - CHECK_RANK[sb] || (a < b ? -1 : 1))
    .map(([check, status]) => ({ check, status, reason: reasons[check] ?? null }));
}

export function statusDocument(agents: readonly StatusAgent[], atMs: number, source: string): StatusDocument {
  const byStatus: Record<AgentStatus, number> = { compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 };
  for (const a of agents) byStatus[a.status]++;
  return { atMs, source, summary: { agents: agents.length, byStatus }, agents: sortAgents(agents) };
}

// Agent-supplied text never reaches the terminal as control sequences.
const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd');

function age(ms: number): string {
  const s = Math.max(0, ms / 1000);
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

const signed = (v: number, text: string) => `${v < 0 ? '-' : '+'}${text}`;

/**
 * An RTC offset a reader can take in: '+0.4 s' when small; a whole number of quarter hours (a UTC
 * offset, the signature of an RTC in local time) as '+28800 s → +8.0 h', so the API's rtcOffsetS
 * and its meaning are both there; anything else in minutes, hours or days: '-5.8 d'.
 */
export function formatRtcOffset(s: number): string {
  const a = Math.abs(s);
  if (a < 90) return `${s < 0 ? '-' : '+'}${a.toFixed(1)} s`;
  const quarter = Math.round(a / 900) * 900;
  // ±2 s: the RTC's 1-s resolution plus a little drift (domain §2.6); 18 h bounds real UTC offsets (-12..+14).
  if (Math.abs(a - quarter) <= 2 && quarter <= 18 * 3600) return `${signed(s, `${Math.round(a)} s`)} → ${signed(s, `${(quarter / 3600).toFixed(quarter % 1800 === 0 ? 1 : 2)} h`)}`;
  if (a < 5400) return signed(s, `${(a / 60).toFixed(1)} min`);
  if (a < 172_800) return signed(s, `${(a / 3600).toFixed(1)} h`);
  return signed(s, `${(a / 86_400).toFixed(1)} d`);
}

/**
 * Words of text in lines of at most `width` columns (`restWidth` for the lines after the first); a
 * word longer than a line is cut. `separator` joins the words (two spaces keep figures apart).
 */
export function wrapText(text: string | readonly string[], width: number, restWidth = width, separator = ' '): string[] {
  const words = typeof text === 'string' ? text.split(/\s+/).filter((x) => x !== '') : text;
  const lines: string[] = [];
  const room = () => Math.max(1, lines.length === 0 ? width : restWidth);
  let line = '';
  for (const word of words) {
    let rest = word;
    if (line !== '' && line.length + separator.length + rest.length <= room()) {
      line += separator + rest;
      continue;
    }
    if (line !== '') lines.push(line);
    line = '';
    while (rest.length > room()) {
      const n = room();
      lines.push(rest.slice(0, n));
      rest = rest.slice(n);
    }
    line = rest;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Where a check's runbook is for this source: on the collector asked (--url), else in the repository. */
function runbookFor(check: string, source: string): string {
  try {
    return /^https?:\/\//.test(source) ? runbookUrl(check, source) : runbookFile(check);
  } catch {
    return '';
  }
}

export function formatStatus(doc: StatusDocument, options: FormatOptions): string {
  const width = Math.max(MIN_WIDTH, Math.floor(options.width ?? DEFAULT_WIDTH));
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const lines: string[] = [];

  const order = SEVERITY_ORDER.filter((s) => doc.summary.byStatus[s] > 0);
  const countsPlain = order.map((s) => `${doc.summary.byStatus[s]} ${s}`).join(', ');
  const countsPainted = order.map((s) => paint(SGR[s], `${doc.summary.byStatus[s]} ${s}`)).join(', ');
  const what = `${doc.summary.agents} agent${doc.summary.agents === 1 ? '' : 's'}`;
  const at = new Date(doc.atMs).toISOString();
  // A long database path keeps its end (the file name), cut from the left.
  const src = clean(doc.source);
  const room = width - at.length - 4;
  const where = `(${src.length <= room ? src : `…${src.slice(src.length - Math.max(1, room - 1))}`}, ${at})`;
  const head = `${what}${countsPlain ? `: ${countsPlain}` : ''}`;
  const headPainted = `${what}${countsPainted ? `: ${countsPainted}` : ''}`;
  if (head.length + 2 + where.length <= width) lines.push(`${headPainted}  ${where}`);
  else lines.push(headPainted, where);

  const rows = doc.agents.map((a) => ({
    a,
    name: clean(a.hostname === a.id ? a.id : `${a.hostname} (${a.id})`),
    // The evidence source stays whole when a long name is cut: it says how far to trust the line.
    mark: a.evidence && a.evidence !== 'agent' ? ` [${a.evidence}]` : '',
    offset: formatOffset(a.offsetMs, a.uncertaintyMs),
    rtc: a.rtcOffsetS === null || a.rtcOffsetS === undefined ? '' : `RTC ${formatRtcOffset(a.rtcOffsetS)}`,
    seen: `seen ${age(doc.atMs - a.lastSeenMs)} ago`,
  }));
  const col = (get: (r: (typeof rows)[number]) => string) => Math.max(0, ...rows.map((r) => get(r).length));
  const statusW = 12;
  const offsetW = col((r) => r.offset);
  const rtcW = col((r) => r.rtc);
  const seenW = col((r) => r.seen);
  const fixed = statusW + 1 + 2 + offsetW + (rtcW > 0 ? 2 + rtcW : 0) + 2 + seenW;
  // One line per agent when the columns fit with at least 16 columns of name; else the name on
  // the status line and the figures on the next, under the name.
  const oneLine = width - fixed >= 16;
  const nameW = oneLine ? Math.min(col((r) => r.name + r.mark), width - fixed) : width - statusW - 1;
  const nameOf = (r: (typeof rows)[number]) => truncate(r.name, nameW - r.mark.length) + r.mark;

  for (const r of rows) {
    const status = paint(SGR[r.a.status], r.a.status.padEnd(statusW));
    if (oneLine) {
      const parts = [nameOf(r).padEnd(nameW), r.offset.padEnd(offsetW)];
      if (rtcW > 0) parts.push(r.rtc.padEnd(rtcW));
      parts.push(r.seen);
      lines.push(`${status} ${parts.join('  ')}`.trimEnd());
    } else {
      lines.push(`${status} ${nameOf(r)}`);
      const figures = [r.offset, r.rtc, r.seen].filter((x) => x !== '');
      for (const l of wrapText(figures, width - statusW - 1, width - statusW - 1, '  ')) lines.push(' '.repeat(statusW + 1) + l);
    }
    for (const p of r.a.problems) {
      const label = `${p.check} ${p.status}`;
      const link = runbookFor(p.check, doc.source);
      const text = `${label}${p.reason ? `: ${clean(p.reason)}` : ''}${link ? ` (runbook: ${link})` : ''}`;
      // Continuation lines indent further so each reason reads as one block.
      const [first = label, ...rest] = wrapText(text, width - REASON_INDENT, width - CONTINUATION_INDENT);
      const firstPainted = first.startsWith(label) ? paint(CHECK_SGR[p.status], label) + first.slice(label.length) : first;
      lines.push(' '.repeat(REASON_INDENT) + firstPainted);
      for (const l of rest) lines.push(' '.repeat(CONTINUATION_INDENT) + l);
    }
  }
  return lines.join('\n') + '\n';
}
