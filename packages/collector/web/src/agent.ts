/**
 * One agent: its verdict (every check, its reason and fix, each linked to its runbook), the
 * measurement, drift, the offset history plot, clock steps, and the libvirt domain's clock.
 */
import { h } from './dom.js';
import { ageText, driftText, ntpText, offsetText, rtcText, spanText, utcText } from './format.js';
import { offsetPlot } from './plot.js';
import type { Sample } from './plot-scale.js';
import { CHECK_RANK, statusBadge } from './fleet.js';
import type { AgentDetail, CheckResult, History, LibvirtClockConfig } from './types.js';

/** Where a check's runbook lives (docs/checks/<id>.md, served by the collector). */
export function runbookHref(c: CheckResult): string {
  return c.runbookUrl ?? c.runbook ?? `/docs/checks/${encodeURIComponent(c.id)}`;
}

function verdictList(d: AgentDetail): HTMLElement {
  const checks = [...d.verdict.checks].sort((a, b) => (CHECK_RANK[a.status] ?? 9) - (CHECK_RANK[b.status] ?? 9) || (a.id < b.id ? -1 : 1));
  return h(
    'ul',
    { class: 'verdict', id: 'verdict' },
    ...checks.map((c) =>
      h(
        'li',
        { class: `check ck-${c.status}`, 'data-check': c.id },
        h('span', { class: `chk ck-${c.status}` }, h('b', {}, c.status)),
        ' ',
        h('a', { href: runbookHref(c), class: 'check-id' }, c.id),
        h('p', { class: 'reason' }, c.reason),
        c.fix ? h('p', { class: 'fix' }, h('strong', {}, 'Fix: '), c.fix) : null,
      ),
    ),
  );
}

function dl(pairs: [string, Node | string][]): HTMLElement {
  return h('dl', { class: 'facts' }, ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** One element per line, children indented: the recommended <clock> comes as a single line. */
export function prettyXml(xml: string): string {
  let depth = 0;
  return xml
    .replace(/>\s*</g, '>\n<')
    .split('\n')
    .map((line) => {
      if (line.startsWith('</')) depth = Math.max(0, depth - 1);
      const out = `${'  '.repeat(depth)}${line}`;
      if (!line.startsWith('</') && !line.endsWith('/>') && !line.startsWith('<!') && !/<\/[^>]+>$/.test(line)) depth++;
      return out;
    })
    .join('\n');
}

/** The domain's <clock> element as libvirt would write it, from its parsed configuration. */
export function clockXml(c: LibvirtClockConfig): string {
  const attr = (k: string, v: string | null | undefined) => (v ? ` ${k}='${v}'` : '');
  const head = `<clock offset='${c.offset}'${attr('adjustment', c.adjustment)}${attr('basis', c.basis)}${attr('timezone', c.timezone)}${attr('start', c.start)}`;
  const timers = (c.timers ?? []).map((t) => `  <timer${Object.entries(t).filter(([, v]) => typeof v === 'string' && v !== '').map(([k, v]) => ` ${k}='${v as string}'`).join('')}/>`);
  return timers.length ? `${head}>\n${timers.join('\n')}\n</clock>` : `${head}/>`;
}

function libvirtSection(d: AgentDetail): HTMLElement | null {
  const lv = d.libvirt;
  if (!lv) return null;
  const sec = h('section', { class: 'card', id: 'libvirt', 'aria-labelledby': 'h-libvirt' }, h('h2', { id: 'h-libvirt' }, 'libvirt domain clock'));
  if (!lv.domain) {
    sec.append(h('p', { class: 'muted' }, lv.note ?? 'No libvirt domain joined to this agent.'));
    return sec;
  }
  sec.append(dl([
    ['Domain', `${lv.domain.name ?? '—'} (${lv.domain.uuid ?? 'no UUID'})`],
    ['Read from', `${lv.domain.source}${lv.domain.live ? ' (live)' : ''}`],
  ]));
  const current = lv.clock ? clockXml(lv.clock) : lv.clock === null ? "<!-- no <clock> element: libvirt uses offset='utc' -->" : null;
  if (current) sec.append(h('h3', {}, 'Configured'), h('pre', { class: 'xml', id: 'clock-current' }, current));
  if (lv.check) {
    sec.append(h('p', {}, h('span', { class: `chk ck-${lv.check.status}` }, h('b', {}, lv.check.status)), ' ', h('a', { href: '/docs/checks/libvirt-clock', class: 'check-id' }, 'libvirt-clock'), ' ', lv.check.reason));
    if (lv.check.findings.length) sec.append(h('ul', { class: 'findings' }, ...lv.check.findings.map((f) => h('li', {}, h('span', { class: `chk ck-${f.status}` }, h('b', {}, f.status)), ' ', f.text))));
    if (lv.check.recommendedXml) {
      sec.append(
        h('h3', {}, `Recommended${lv.check.family ? ` for a ${lv.check.family} guest` : ''}${lv.check.familySource ? ` (family from ${lv.check.familySource})` : ''}`),
        h('pre', { class: 'xml', id: 'clock-recommended' }, prettyXml(lv.check.recommendedXml)),
      );
    }
  }
  return sec;
}

/**
 * What, if it changed, redraws the agent view: the report, every status, the libvirt verdict and
 * the history. Reasons whose words move with the clock ("last report 12 s ago") are patched in place.
 */
export function agentSignature(d: AgentDetail, hist: History | null): string {
  const last = hist?.points[hist.points.length - 1];
  return JSON.stringify([
    d.reportId ?? d.agent.lastSeenMs,
    d.verdict.status,
    d.verdict.checks.map((c) => [c.id, c.status]),
    d.libvirt?.check?.status ?? null,
    d.libvirt?.check?.reason ?? null,
    hist?.points.length ?? 0,
    last?.receivedAtMs ?? null,
  ]);
}

/** Puts the current reason texts into an agent view drawn earlier (same checks, same statuses). */
export function patchReasons(view: Element, d: AgentDetail): void {
  for (const c of d.verdict.checks) {
    const p = view.querySelector(`li[data-check="${CSS.escape(c.id)}"] .reason`);
    if (p && p.textContent !== c.reason) p.textContent = c.reason;
  }
}

export function agentView(d: AgentDetail, hist: History | null, nowMs: number): HTMLElement {
  const a = d.agent;
  const m = d.measurement;
  const samples: Sample[] = (hist?.points ?? [])
    .filter((p) => p.offsetMs !== null && p.uncertaintyMs !== null)
    .map((p) => ({ atMs: p.atMs ?? p.receivedAtMs, offsetMs: p.offsetMs as number, uncertaintyMs: p.uncertaintyMs as number }));
  const stepPoints = (hist?.points ?? []).filter((p) => p.stepCount > 0);
  const limits = d.limits?.offset.enabled ? { warnMs: d.limits.offset.warnMs, failMs: d.limits.offset.failMs } : null;
  const events = d.report.events ?? [];
  const labels = Object.entries(a.labels);
  const collector = a.collector ?? a.measuredBy ?? d.collector;

  const head = h(
    'header',
    { class: 'agent-head' },
    h('h1', { id: 'agent-title', tabindex: -1 }, a.hostname, ' ', h('span', { class: 'id' }, a.id)),
    h('p', {}, statusBadge(d.verdict.status), ' last report ', h('span', { 'data-at': a.lastSeenMs }, ageText(a.lastSeenMs, nowMs)), ` (${utcText(a.lastSeenMs)})`, collector ? `, measured by ${collector}` : ''),
    labels.length ? h('p', { class: 'labels' }, ...labels.map(([k, v]) => h('a', { class: 'label', href: `/?label=${encodeURIComponent(`${k}=${v}`)}` }, `${k}=${v}`))) : null,
  );

  const verdict = h('section', { class: 'card', 'aria-labelledby': 'h-verdict' }, h('h2', { id: 'h-verdict' }, 'Verdict'), verdictList(d), d.verdict.rules.length ? h('p', { class: 'muted' }, `Policy rules applied: ${d.verdict.rules.join(', ')}`) : null);

  const meas = h(
    'section',
    { class: 'card', 'aria-labelledby': 'h-meas' },
    h('h2', { id: 'h-meas' }, 'Measurement'),
    dl([
      ['Offset', h('span', { id: 'offset' }, m.offsetMs === null ? `— (${m.offsetError ?? 'not measured'})` : offsetText(m.offsetMs, m.uncertaintyMs))],
      ['Round-trip delay', m.delayMs === null ? '—' : `${m.delayMs.toFixed(3)} ms`],
      ['RTC offset', `${rtcText(m.rtcOffsetS)}${m.rtcExplanation ? ` — ${m.rtcExplanation}` : ''}`],
      ['Clocksource', a.clocksource ?? '—'],
      ['Zone', a.timezone ?? '—'],
      ['NTP', `${ntpText(a.ntpSynchronized)}${d.report.ntp?.daemon ? ` (${d.report.ntp.daemon}${d.report.ntp.server ? `, ${d.report.ntp.server}` : ''})` : ''}`],
      ['Collector host', m.hostSynchronized === false ? 'not NTP-synchronised: the reference is unreliable' : m.hostSynchronized ? 'NTP-synchronised' : 'NTP state unknown'],
      [
        'Drift',
        h('span', { id: 'drift' }, d.drift
          ? `${driftText(d.drift.ppm, d.drift.uncertaintyPpm)} over ${spanText(d.drift.spanMs)}, ${d.drift.points} points${d.drift.steps ? `, ${d.drift.steps} step(s) excluded` : ''}`
          : 'not enough history yet'),
      ],
    ]),
  );

  const plot = h('section', { class: 'card wide', 'aria-labelledby': 'h-plot' }, h('h2', { id: 'h-plot' }, 'Offset, last 24 hours'), offsetPlot({ samples, steps: stepPoints.map((p) => p.atMs ?? p.receivedAtMs), limits }));
  if (hist?.truncated) plot.append(h('p', { class: 'muted' }, `Showing the latest ${hist.points.length} samples of the period.`));

  const stepItems = [
    ...events.map((e) => h('li', {}, `${e.kind}${typeof e.stepMs === 'number' ? ` of ${offsetText(e.stepMs, null)}` : ''}${typeof e.durationMs === 'number' ? `, ${(e.durationMs / 1000).toFixed(1)} s` : ''} at ${utcText(e.atMs)} (guest clock), in the latest report`)),
    ...stepPoints.map((p) => h('li', {}, `${p.stepCount} clock step(s) reported with the sample of ${utcText(p.atMs ?? p.receivedAtMs)}`)),
  ];
  const steps = h(
    'section',
    { class: 'card', 'aria-labelledby': 'h-steps', id: 'steps' },
    h('h2', { id: 'h-steps' }, 'Steps and suspends'),
    stepItems.length ? h('ul', {}, ...stepItems) : h('p', { class: 'muted' }, 'No clock step or suspend seen in the last 24 hours.'),
  );

  return h('article', { class: 'agent-view', 'data-agent-id': a.id }, head, h('div', { class: 'cards' }, verdict, meas, plot, steps, libvirtSection(d)));
}
