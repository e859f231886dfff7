/**
 * The terminal fleet table of `clockwatch-collector status`: one line per agent — status, hostname
 * and id, offset ± uncertainty, and each check that did not pass with its reason. Pure: agents in,
 * text out; colours (ANSI SGR) only when asked for.
 */
import { formatOffset, type AgentStatus, type CheckStatus } from '@clockwatch/shared';

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

const ORDER: Record<AgentStatus, number> = { noncompliant: 0, stale: 1, unknown: 2, warning: 3, compliant: 4 };
const CHECK_RANK: Record<CheckStatus, number> = { fail: 0, unknown: 1, warn: 2, pass: 3 };
const SGR: Record<AgentStatus, string> = { compliant: '32', warning: '33', noncompliant: '1;31', stale: '35', unknown: '90' };
const CHECK_SGR: Record<CheckStatus, string> = { pass: '32', warn: '33', fail: '31', unknown: '90' };

/** Agents by severity, then hostname, then id (the order of the exports). */
export function sortAgents<T extends { status: AgentStatus; hostname: string; id: string }>(agents: readonly T[]): T[] {
  return [...agents].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.hostname.localeCompare(b.hostname, 'en') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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

export function formatStatus(doc: StatusDocument, options: { color: boolean }): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const lines: string[] = [];
  const counts = (Object.keys(ORDER) as AgentStatus[])
    .sort((a, b) => ORDER[a] - ORDER[b])
    .filter((s) => doc.summary.byStatus[s] > 0)
    .map((s) => paint(SGR[s], `${doc.summary.byStatus[s]} ${s}`));
  lines.push(`${doc.summary.agents} agent${doc.summary.agents === 1 ? '' : 's'}${counts.length ? `: ${counts.join(', ')}` : ''}  (${doc.source}, ${new Date(doc.atMs).toISOString()})`);
  const names = doc.agents.map((a) => clean(`${a.hostname === a.id ? a.id : `${a.hostname} (${a.id})`}${a.evidence && a.evidence !== 'agent' ? ` [${a.evidence}]` : ''}`));
  const width = Math.min(48, Math.max(0, ...names.map((n) => n.length)));
  const offsets = doc.agents.map((a) => formatOffset(a.offsetMs, a.uncertaintyMs));
  const owidth = Math.max(0, ...offsets.map((o) => o.length));
  doc.agents.forEach((a, i) => {
    const status = paint(SGR[a.status], a.status.padEnd(12));
    const name = (names[i] as string).padEnd(width);
    const offset = (offsets[i] as string).padEnd(owidth);
    const seen = `seen ${age(doc.atMs - a.lastSeenMs)} ago`;
    const problems = a.problems.map((p) => `${paint(CHECK_SGR[p.status], `${p.check} ${p.status}`)}${p.reason ? `: ${clean(p.reason)}` : ''}`).join('; ');
    lines.push(`${status} ${name}  ${offset}  ${seen}${problems ? `  ${problems}` : ''}`);
  });
  return lines.join('\n') + '\n';
}
