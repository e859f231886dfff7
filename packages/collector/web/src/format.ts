/** Pure text formatting for the page: offsets with their uncertainty, RTC offsets, ages. */

const MINUS = '\u2212';

function signed(v: number, digits: number): string {
  const s = Math.abs(v).toFixed(digits);
  return v < 0 ? `${MINUS}${s}` : `+${s}`;
}

/** Digits that keep about three significant figures of a ms value (0.0123 ms, 1.23 ms, 123 ms). */
function msDigits(v: number): number {
  const a = Math.abs(v);
  return a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
}

/** "+1.234 ms ± 0.201 ms"; seconds past 10 s. Every offset carries its uncertainty (spec: units and signs). */
export function offsetText(offsetMs: number | null, uncertaintyMs: number | null): string {
  if (offsetMs === null) return '—';
  const u = uncertaintyMs === null ? '' : ` ± ${uncertaintyText(uncertaintyMs)}`;
  if (Math.abs(offsetMs) >= 10_000) return `${signed(offsetMs / 1000, 2)} s${u}`;
  return `${signed(offsetMs, msDigits(offsetMs))} ms${u}`;
}

export function uncertaintyText(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(msDigits(ms))} ms`;
}

/** RTC offset in the largest unit that keeps it short: "+0.4 s", "−8.0 h", "−5.8 d". */
export function rtcText(s: number | null): string {
  if (s === null) return '—';
  const a = Math.abs(s);
  if (a < 60) return `${signed(s, 1)} s`;
  if (a < 3600) return `${signed(s / 60, 1)} min`;
  if (a < 86_400) return `${signed(s / 3600, 1)} h`;
  return `${signed(s / 86_400, 1)} d`;
}

/** "12 s ago", "4 min ago", "6.1 h ago", "3 d ago". */
export function ageText(atMs: number, nowMs: number): string {
  const s = Math.max(0, (nowMs - atMs) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** A duration: "45 s", "12 min", "5.5 h", "3.0 d". */
export function spanText(ms: number): string {
  const s = ms / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/** ISO 8601 in UTC to the second: the reference of the whole fleet is UTC. */
export function utcText(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function ntpText(sync: boolean | null): string {
  return sync === true ? 'synchronised' : sync === false ? 'not synchronised' : 'unknown';
}

/** Drift in ppm (µs/s) with its uncertainty when the collector gives one. */
export function driftText(ppm: number, uncertaintyPpm: number | null | undefined): string {
  const digits = Math.abs(ppm) >= 10 ? 1 : 3;
  const u = typeof uncertaintyPpm === 'number' ? ` ± ${uncertaintyPpm.toFixed(digits)}` : '';
  return `${signed(ppm, digits)}${u} ppm`;
}

/** "site=par1" filters: "k=v" pairs separated by commas or spaces; a malformed one is returned as bad. */
export function parseLabels(text: string): { labels: string[]; bad: string | null } {
  const labels: string[] = [];
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) return { labels, bad: part };
    labels.push(part);
  }
  return { labels, bad: null };
}
