/**
 * Which time the RTC is configured to keep (UTC or LOCAL), from every source that says so:
 *
 * - /etc/adjtime (util-linux adjtime_config(5); systemd src/shared/clock-util.c clock_is_localtime()):
 *   three lines, the third `UTC` or `LOCAL`. A missing file or one with fewer than three lines means
 *   UTC ("The default clock mode is UTC if the file is missing"); the third line is compared exactly
 *   (`streq(line, "LOCAL")`, case-sensitive) after stripping the newline. domain.md §3.1.
 * - /etc/sysconfig/clock (RHEL/CentOS 6): shell-style `UTC=true|false` (legacy), `ZONE="..."`.
 *   Which one wins on an EL6 boot path is unverified (domain.md §3.3): both are reported.
 */
import type { RtcModeName, RtcModeSourceInfo } from '@clockwatch/shared';
import { readText } from '../context.js';

export interface AdjtimeInfo {
  mode: RtcModeName;
  /** Why: what line 3 says, or the reason the default applies. */
  detail: string;
  /** False when the file is too short and the default (UTC) applies. */
  hasLine3: boolean;
}

export function parseAdjtime(text: string): AdjtimeInfo {
  // systemd's read_line() strips "\n" and "\r\n"; a final newline does not start another line.
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const third = lines[2]?.replace(/\r$/, '');
  if (third === undefined) return { mode: 'UTC', detail: 'fewer than three lines: UTC by default', hasLine3: false };
  if (third === 'LOCAL') return { mode: 'LOCAL', detail: 'line 3: LOCAL', hasLine3: true };
  if (third === 'UTC') return { mode: 'UTC', detail: 'line 3: UTC', hasLine3: true };
  // util-linux refuses anything else; systemd treats anything but LOCAL as UTC.
  return { mode: 'UTC', detail: `line 3: ${JSON.stringify(third.slice(0, 40))} is not LOCAL, so UTC (as systemd reads it)`, hasLine3: true };
}

/** Shell-style KEY=value lines (quotes removed, comments skipped), as /etc/sysconfig/clock holds them. */
export function parseShellVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = (m[2] as string).trim();
    const q = /^"([^"]*)"|^'([^']*)'/.exec(v);
    if (q) v = q[1] ?? q[2] ?? '';
    else v = v.replace(/\s+#.*$/, '');
    out[m[1] as string] = v;
  }
  return out;
}

export interface SysconfigClock {
  zone: string | null;
  /** UTC=true|yes → UTC, false|no → LOCAL; null when absent or unrecognised. */
  mode: RtcModeName | null;
  utcRaw: string | null;
}

export function parseSysconfigClock(text: string): SysconfigClock {
  const vars = parseShellVars(text);
  const utcRaw = vars.UTC ?? null;
  let mode: RtcModeName | null = null;
  if (utcRaw !== null) {
    if (/^(true|yes|1)$/i.test(utcRaw)) mode = 'UTC';
    else if (/^(false|no|0)$/i.test(utcRaw)) mode = 'LOCAL';
  }
  const zone = vars.ZONE ? vars.ZONE : null;
  return { zone, mode, utcRaw };
}

export interface RtcModeResult {
  mode: RtcModeName | null;
  modeSource: string | null;
  modeSources: RtcModeSourceInfo[];
}

/**
 * /etc/adjtime decides when it has a third line (hwclock and systemd both read it); otherwise
 * /etc/sysconfig/clock UTC= if present; otherwise the documented default, UTC.
 */
export async function readRtcMode(root: string): Promise<RtcModeResult> {
  const sources: RtcModeSourceInfo[] = [];
  let mode: RtcModeName | null = null;
  let modeSource: string | null = null;

  const adj = await readText(root, '/etc/adjtime');
  let adjtimeDecides = false;
  if (adj.ok) {
    const a = parseAdjtime(adj.text);
    adjtimeDecides = a.hasLine3;
    sources.push({ source: '/etc/adjtime', mode: a.mode, detail: a.detail });
    if (adjtimeDecides) {
      mode = a.mode;
      modeSource = '/etc/adjtime';
    }
  } else if (adj.errno === 'ENOENT') {
    sources.push({ source: '/etc/adjtime', mode: null, detail: 'absent (hwclock and systemd then assume UTC)' });
  } else {
    sources.push({ source: '/etc/adjtime', mode: null, detail: adj.error.message });
  }

  const sc = await readText(root, '/etc/sysconfig/clock');
  if (sc.ok) {
    const s = parseSysconfigClock(sc.text);
    if (s.utcRaw !== null || s.zone !== null) {
      sources.push({
        source: '/etc/sysconfig/clock',
        mode: s.mode,
        detail: s.utcRaw !== null ? `UTC=${s.utcRaw}` : 'no UTC= line',
      });
      if (mode === null && s.mode !== null) {
        mode = s.mode;
        modeSource = '/etc/sysconfig/clock';
      }
    }
  }

  if (mode === null && adj.ok) {
    // adjtime exists but is short: systemd and hwclock then use UTC.
    mode = 'UTC';
    modeSource = '/etc/adjtime';
  }
  if (mode === null && (adj.ok || adj.errno === 'ENOENT')) {
    mode = 'UTC';
    modeSource = 'default';
  }
  return { mode, modeSource, modeSources: sources };
}
