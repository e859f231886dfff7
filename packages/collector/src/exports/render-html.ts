/**
 * HTML export: one self-contained file an auditor can open anywhere — inline CSS, no scripts, no
 * external reference of any kind (a Content-Security-Policy of default-src 'none' says so to the
 * browser too), every agent-supplied string escaped. It names the collector, the policy (with its
 * SHA-256) and the manifest's signer; holds the fleet summary, the table, and for the worst agents
 * that are not compliant (at most the plot cap, worst first) an inline SVG plot of the offset with
 * its uncertainty band; the others that are not compliant are listed after the plots. Streamed:
 * `htmlChunks` yields it a few hundred table rows or a few plots at a time.
 */
import { AGENT_STATUSES, formatOffset, type AgentStatus, type CheckStatus } from '@clockwatch/shared';
import { agentlessHtmlSection } from './agentless.js';
import { escapeHtml as esc } from './escape.js';
import type { ExportData, ExportRow } from './model.js';
import { DEFAULT_PLOT_CAP, isoUtc, needsPlot, plotRows } from './model.js';
import { CSV_CHECK_IDS } from './render-csv.js';
import { renderOffsetPlot } from './svg-plot.js';

const STATUS_TEXT: Record<AgentStatus, string> = {
  compliant: 'compliant',
  warning: 'warning',
  noncompliant: 'non-compliant',
  stale: 'stale',
  unknown: 'unknown',
};
const CHECK_MARK: Record<CheckStatus, string> = { pass: '✓', warn: '!', fail: '✗', unknown: '?' };

const CSS = `
:root{color-scheme:light;--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--ok:#15803d;--okbg:#dcfce7;--warn:#b45309;--warnbg:#fef3c7;--bad:#b91c1c;--badbg:#fee2e2;--unk:#4b5563;--unkbg:#e5e7eb}
*{box-sizing:border-box}
body{margin:20px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#f9fafb}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.meta{color:var(--muted);margin:0 0 16px}
.summary{display:flex;flex-wrap:wrap;gap:10px;margin:0;padding:0;list-style:none}
.summary li{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:120px}
.summary .n{display:block;font-size:24px;font-weight:600}
.summary .compliant .n{color:var(--ok)}.summary .warning .n{color:var(--warn)}.summary .noncompliant .n,.summary .stale .n{color:var(--bad)}.summary .unknown .n{color:var(--unk)}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{text-align:left;vertical-align:top;padding:5px 7px;border-bottom:1px solid var(--line)}
th{background:#f3f4f6;font-weight:600;white-space:nowrap}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.small{color:var(--muted);font-size:11px}
.id{overflow-wrap:anywhere}
td.agent{min-width:160px;max-width:220px}
td.checks{min-width:150px}
.badge{display:inline-block;border-radius:4px;padding:1px 6px;font-size:12px;font-weight:600;white-space:nowrap}
.s-compliant,.c-pass{background:var(--okbg);color:var(--ok)}
.s-warning,.c-warn{background:var(--warnbg);color:var(--warn)}
.s-noncompliant,.s-stale,.c-fail{background:var(--badbg);color:var(--bad)}
.s-unknown,.c-unknown{background:var(--unkbg);color:var(--unk)}
.checks .badge{margin:0 3px 3px 0;font-weight:500}
.label{display:inline-block;max-width:100%;overflow-wrap:anywhere;background:#eef2ff;color:#3730a3;border-radius:3px;padding:0 4px;margin:2px 2px 0 0;font-size:11px}
figure{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0 0 16px;padding:12px 14px}
figcaption{margin-bottom:6px}
figure ul{margin:6px 0 8px;padding-left:20px}
svg{max-width:100%;height:auto;display:block}
footer{color:var(--muted);margin-top:28px;font-size:12px}
@media print{body{margin:8mm;background:#fff}.table-wrap{overflow:visible}figure{break-inside:avoid}}
`;

function statusBadge(s: AgentStatus): string {
  return `<span class="badge s-${s}">${esc(STATUS_TEXT[s])}</span>`;
}

function utcText(ms: number): string {
  return esc(isoUtc(ms).replace('T', ' ').replace(/\.000Z$/, 'Z'));
}

function checkIds(r: ExportRow): string[] {
  const known = CSV_CHECK_IDS.filter((id) => id in r.checks) as string[];
  return [...known, ...Object.keys(r.checks).filter((id) => !known.includes(id)).sort()];
}

/** Offset over its uncertainty, on two lines so that the numeric columns stay narrow. */
function offsetCell(offsetMs: number | null, uncertaintyMs: number | null): string {
  if (offsetMs === null) return '—';
  const unc = uncertaintyMs === null ? '' : `<br><span class="small">±${esc(uncertaintyMs.toFixed(3))} ms</span>`;
  return `${esc(formatOffset(offsetMs, null))}${unc}`;
}

function ntpText(r: ExportRow): string {
  const n = r.ntp;
  if (n.daemon === null) return '<span class="small">unknown</span>';
  const sync = n.synchronized === null ? 'sync unknown' : n.synchronized ? 'synchronised' : 'not synchronised';
  return `${esc(n.daemon)}<br><span class="small">${esc(sync)}</span>${n.server ? `<br><span class="small id">${esc(n.server)}</span>` : ''}`;
}

function row(r: ExportRow, plotIndex: number | null): string {
  const labels = Object.entries(r.labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `<span class="label">${esc(k)}=${esc(v)}</span>`)
    .join('');
  const checks = checkIds(r)
    .map((id) => {
      const st = r.checks[id] as CheckStatus;
      const why = r.reasons?.[id];
      return `<span class="badge c-${st}"${why ? ` title="${esc(why)}"` : ''}>${CHECK_MARK[st]} ${esc(id)}</span>`;
    })
    .join('');
  const rtc = r.rtcOffsetS === null ? '—' : `${r.rtcOffsetS > 0 ? '+' : ''}${esc(r.rtcOffsetS.toFixed(1))} s`;
  return [
    `<tr class="agent-row s-row-${r.status}" id="agent-${esc(r.id)}" data-agent-id="${esc(r.id)}">`,
    `<td class="agent"><strong class="id">${esc(r.hostname)}</strong>${plotIndex !== null ? ` <a href="#plot-${plotIndex}" class="small">plot</a>` : ''}<br><span class="small id">${esc(r.id)}</span>`,
    r.systemUuid ? `<br><span class="small id">UUID ${esc(r.systemUuid)}</span>` : '',
    labels ? `<br>${labels}` : '',
    `</td>`,
    `<td>${statusBadge(r.status)}</td>`,
    `<td class="checks">${checks || '<span class="small">none</span>'}</td>`,
    `<td class="num">${offsetCell(r.offsetMs, r.uncertaintyMs)}</td>`,
    `<td class="num">${offsetCell(r.worstOffsetMs, r.worstUncertaintyMs)}</td>`,
    `<td class="num">${rtc}${r.rtcMode ? `<br><span class="small">${esc(r.rtcMode)}</span>` : ''}</td>`,
    `<td><span class="id">${r.clocksource === null ? '—' : esc(r.clocksource)}</span><br><span class="small id">${r.timezone === null ? '—' : esc(r.timezone)}</span></td>`,
    `<td>${ntpText(r)}</td>`,
    `<td class="num">${r.compliantShare === null ? '—' : `${esc((r.compliantShare * 100).toFixed(1))} %`}</td>`,
    `<td class="num">${r.driftPpm === null ? '—' : `${esc(r.driftPpm.toFixed(2))} ppm`}</td>`,
    `<td class="num">${r.lastReportMs === null ? '—' : utcText(r.lastReportMs).replace(' ', '<br>')}</td>`,
    `</tr>`,
  ].join('');
}

function figure(r: ExportRow, index: number, d: ExportData): string {
  const worst = r.worstSample
    ? `<p class="small">Worst offset ${esc(formatOffset(r.worstSample.offsetMs, null))} ± ${esc(r.worstSample.uncertaintyMs.toFixed(3))} ms at ${utcText(r.worstSample.atMs)}, report <span class="id">${esc(r.worstSample.reportId)}</span></p>`
    : '';
  const reasons = checkIds(r)
    .filter((id) => r.checks[id] !== 'pass')
    .map((id) => `<li><span class="badge c-${r.checks[id]}">${CHECK_MARK[r.checks[id] as CheckStatus]} ${esc(id)}</span> ${esc(r.reasons?.[id] ?? '')}</li>`)
    .join('');
  const plot = renderOffsetPlot({ points: r.series, fromMs: d.period.fromMs, toMs: d.period.toMs, warnMs: d.limits.warnMs, failMs: d.limits.failMs, title: r.hostname });
  return [
    `<figure id="plot-${index}" data-agent-id="${esc(r.id)}">`,
    `<figcaption><strong>${esc(r.hostname)}</strong> <span class="small">${esc(r.id)}</span> ${statusBadge(r.status)}</figcaption>`,
    reasons ? `<ul>${reasons}</ul>` : '',
    plot,
    worst,
    `</figure>`,
  ].join('');
}

/** The libvirt audit's lists: domains no agent reports, agents no domain has. */
function libvirtSection(d: ExportData): string {
  const l = d.libvirt;
  if (!l) return '';
  const domains = l.domainsWithoutAgent.map((x) => `<li>${esc(x.name ?? '(no name)')} <span class="small id">${esc(x.uuid ?? 'no UUID')} · ${esc(x.source)}</span></li>`).join('');
  const agents = l.agentsWithoutDomain.map((a) => `<li>${esc(a.hostname)} <span class="small id">${esc(a.id)} · ${a.systemUuid ? `UUID ${esc(a.systemUuid)}` : 'no SMBIOS UUID reported'}</span></li>`).join('');
  return [
    '<section id="libvirt">',
    '<h2>libvirt clock audit</h2>',
    `<p class="meta">Domain XML read ${l.readAtMs === null ? 'never' : utcText(l.readAtMs)}; agents are joined to domains by the SMBIOS UUID they report.</p>`,
    `<h3>Domains without an agent (${l.domainsWithoutAgent.length})</h3>`,
    domains ? `<ul>${domains}</ul>` : '<p class="meta">None.</p>',
    `<h3>Agents without a domain (${l.agentsWithoutDomain.length})</h3>`,
    agents ? `<ul>${agents}</ul>` : '<p class="meta">None.</p>',
    '</section>',
  ].join('');
}


function aboutLine(d: ExportData): string {
  const a = d.about;
  if (!a) return '';
  const signer = a.signerKeyId ? `manifest signed by key <span class="id">${esc(a.signerKeyId)}</span>` : 'manifest not signed';
  return (
    `<p class="meta">Collector <strong>${esc(a.collector.hostname)}</strong> (clockwatch-collector ${esc(a.collector.version)}) · ` +
    `policy ${esc(a.policy.source)}, SHA-256 <span class="id">${esc(a.policy.sha256)}</span> · ${signer}</p>`
  );
}

/** The agents that are not compliant and got no plot (over the cap): listed, worst first. */
function unplottedSection(rest: readonly ExportRow[], cap: number, d: ExportData): string {
  if (rest.length === 0) return '';
  const detail = d.about?.detail;
  const where = detail?.file
    ? `their hourly rollups are in the JSON file, every sample in <span class="id">${esc(detail.file)}</span>`
    : `their hourly rollups are in the JSON file; every sample: <code>${esc(detail?.command ?? 'clockwatch-collector export --detail')}</code>`;
  return [
    `<section id="not-plotted"><h3>Not plotted (${rest.length})</h3>`,
    `<p class="meta">Only the ${cap} worst agents that are not compliant get a plot; ${where}. Worst first:</p>`,
    '<ol class="small">',
    ...rest.map((r) => `<li><a href="#agent-${esc(r.id)}">${esc(r.hostname)}</a> <span class="id">${esc(r.id)}</span> ${statusBadge(r.status)} worst ${r.worstOffsetMs === null ? '—' : esc(formatOffset(r.worstOffsetMs, null))}</li>`),
    '</ol></section>',
  ].join('');
}

const ROWS_PER_CHUNK = 200;

export function* htmlChunks(data: ExportData): Generator<string> {
  const cap = data.about?.plotCap ?? DEFAULT_PLOT_CAP;
  const plottedRows = plotRows(data.rows, cap);
  const plotted = new Map<ExportRow, number>(plottedRows.map((r, i) => [r, i + 1]));
  const notPlotted = plotRows(data.rows, Number.MAX_SAFE_INTEGER).filter((r) => !plotted.has(r));
  const period = `${utcText(data.period.fromMs)} → ${utcText(data.period.toMs)}`;
  const shares = data.rows.map((r) => r.compliantShare).filter((s): s is number => s !== null);
  const fleetShare = shares.length ? `${((shares.reduce((a, b) => a + b, 0) / shares.length) * 100).toFixed(1)} %` : '—';
  const summary = [
    `<li class="agents"><span class="n">${data.summary.agents}</span>agents</li>`,
    ...AGENT_STATUSES.map((s) => `<li class="${s}"><span class="n">${data.summary.byStatus[s] ?? 0}</span>${esc(STATUS_TEXT[s])}</li>`),
    `<li class="share"><span class="n">${esc(fleetShare)}</span>of reports compliant (mean over agents)</li>`,
  ].join('');
  const head = ['Agent', 'Status', 'Checks', 'Latest offset', 'Worst offset', 'RTC offset', 'Clocksource / zone', 'NTP', 'Compliant reports', 'Drift', 'Last report'];
  yield [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may load or run: the file must read the same offline, years later.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="clockwatch-collector">',
    `<title>clockwatch compliance export, ${period} UTC</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>Guest clock compliance</h1>',
    `<p class="meta">Period ${period} (UTC) · generated ${utcText(data.generatedAtMs)} · offset limits: warn ±${esc(String(data.limits.warnMs))} ms, fail ±${esc(String(data.limits.failMs))} ms</p>`,
    aboutLine(data),
    '</header>',
    `<section aria-label="Fleet summary"><ul class="summary">${summary}</ul></section>`,
    '<section>',
    '<h2>Agents</h2>',
    `<div class="table-wrap"><table id="agents"><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
  ].join('\n');
  let lines: string[] = [];
  for (const r of data.rows) {
    lines.push(row(r, plotted.get(r) ?? null));
    if (lines.length >= ROWS_PER_CHUNK) {
      yield '\n' + lines.join('\n');
      lines = [];
    }
  }
  if (lines.length > 0) yield '\n' + lines.join('\n');
  const notCompliant = plottedRows.length + notPlotted.length;
  yield [
    '',
    '</tbody>',
    '</table></div>',
    data.rows.length === 0 ? '<p class="meta">No agent reported in this period.</p>' : '',
    '</section>',
    '<section>',
    `<h2>Agents needing attention (${notCompliant}${notPlotted.length > 0 ? `, the ${plottedRows.length} worst plotted` : ''})</h2>`,
    notCompliant === 0 ? '<p class="meta">Every agent was compliant at the end of the period.</p>' : '',
    '',
  ].join('\n');
  for (let i = 0; i < plottedRows.length; i += 20) {
    yield plottedRows.slice(i, i + 20).map((r) => figure(r, plotted.get(r) as number, data)).join('\n') + '\n';
  }
  yield [
    unplottedSection(notPlotted, cap, data),
    '</section>',
    libvirtSection(data),
    agentlessHtmlSection(data),
    '<footer>Offsets are guest clock − host clock (positive: the guest is ahead), each with its uncertainty (±, half the round-trip delay of the exchange, RFC 5905). ',
    'RTC offset: RTC reading read as UTC − host UTC. Compliant reports: the share of the agent\'s reports in the period whose verdict at ingest was compliant — it counts reports, not time: ',
    'an agent that did not report for an hour is not counted for that hour (the reporting check and the status say so). ',
    'The manifest next to this file lists every file of the export with its SHA-256.</footer>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function renderHtml(data: ExportData): string {
  return [...htmlChunks(data)].join('');
}
