/**
 * Periodic one-shot sync: many clusters do "an internal NTP server, synchronise every five minutes"
 * with cron or a systemd timer running `ntpdate`, `sntp`, `chronyd -q` or `chronyc makestep`
 * instead of a daemon. That is a sync method with a schedule, never "no daemon".
 *
 * Cron: crontab(5) — five time fields (system crontabs /etc/crontab and /etc/cron.d/* have a user
 * field after them), `*`, `a-b`, lists and `/step`; /etc/cron.{hourly,daily} run-parts scripts.
 * systemd: systemd.timer(5) OnUnitActiveSec= / OnUnitInactiveSec= (monotonic), OnCalendar=
 * (systemd.time(7): `minutely`, `hourly`, `daily`, `*:0/5`, `*-*-* *:00/5:00`).
 */
import { readdirSync } from 'node:fs';
import { readOptionalCached, underRoot } from './context.js';
import type { FileCache } from './file-cache.js';

export interface OneShotSync {
  tool: string;
  command: string;
  source: string;
  schedule: string;
  intervalS: number | null;
}

/** The one-shot tools; `chronyd -q` sets the clock once and exits (chronyd(8) -q), `chronyc makestep` steps a running chronyd. */
const TOOL_RE = /(?:^|[\s/;&|(])(ntpdate|sntp|htpdate|chronyd(?=(?:\s+-\S+)*\s+-\w*q)|chronyc(?=(?:\s+-\S+(?:\s+\S+)?)*\s+makestep))\b/;

export function oneShotTool(command: string): string | null {
  const m = TOOL_RE.exec(command);
  if (!m) return null;
  const tool = m[1]!;
  return tool === 'chronyd' ? 'chronyd -q' : tool === 'chronyc' ? 'chronyc makestep' : tool;
}

/** Expands one cron field over [min, max]; null when it cannot be read. */
export function expandCronField(field: string, min: number, max: number): number[] | null {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) return null;
    let [lo, hi] = [min, max];
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-').map(Number);
      lo = a!;
      hi = b ?? (m[2] ? max : a!);
    }
    const step = m[2] ? Number(m[2]) : 1;
    if (lo < min || hi > max || lo > hi || step < 1) return null;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The longest gap between two runs of a cron schedule, s, when it runs every day (day-of-month,
 * month and day-of-week are `*`); null otherwise (a weekly job is not "periodic" in this sense).
 */
export function cronIntervalS(fields: readonly string[]): number | null {
  const [min, hour, dom, mon, dow] = fields;
  if (dom !== '*' || mon !== '*' || dow !== '*') return null;
  const minutes = expandCronField(min!, 0, 59);
  const hours = expandCronField(hour!, 0, 23);
  if (!minutes || !hours || minutes.length === 0 || hours.length === 0) return null;
  const times = hours.flatMap((h) => minutes.map((m) => h * 60 + m));
  let gap = times[0]! + 1440 - times[times.length - 1]!;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap * 60;
}

const CRON_MACROS: Record<string, number | null> = { '@hourly': 3600, '@daily': 86400, '@midnight': 86400, '@weekly': 604800, '@monthly': null, '@yearly': null, '@annually': null, '@reboot': null };

/** Pure: a crontab's text → its one-shot sync entries. `system`: /etc/crontab and /etc/cron.d/* (a user field follows the schedule). */
export function parseCrontab(text: string, source: string, system: boolean): OneShotSync[] {
  const out: OneShotSync[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line)) continue;
    const f = line.split(/\s+/);
    let schedule: string;
    let intervalS: number | null;
    let rest: string[];
    if (f[0]!.startsWith('@')) {
      schedule = f[0]!;
      intervalS = CRON_MACROS[f[0]!] ?? null;
      rest = f.slice(system ? 2 : 1);
    } else {
      if (f.length < (system ? 7 : 6)) continue;
      schedule = f.slice(0, 5).join(' ');
      intervalS = cronIntervalS(f.slice(0, 5));
      rest = f.slice(system ? 6 : 5);
    }
    const command = rest.join(' ');
    const tool = oneShotTool(command);
    if (tool) out.push({ tool, command: command.slice(0, 2048), source, schedule, intervalS });
  }
  return out;
}

/** systemd.time(7) spans: `5min`, `300`, `1h 30min`, `30s` → s. */
function spanS(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*(usec|us|msec|ms|seconds?|sec|s|minutes?|min|m|hours?|hr|h|days?|d|weeks?|w)\s*/gy;
  let pos = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const n = Number(m[1]);
    const u = m[2]!;
    total += /^us/.test(u) ? n / 1e6 : /^ms/.test(u) ? n / 1e3 : /^s/.test(u) ? n : /^m/.test(u) ? n * 60 : /^h/.test(u) ? n * 3600 : /^d/.test(u) ? n * 86400 : n * 604800;
    pos = re.lastIndex;
  }
  return pos === t.length && pos > 0 ? total : null;
}

/** OnCalendar= → the period, s, for the common periodic forms; null for others. */
export function calendarIntervalS(expr: string): number | null {
  const e = expr.trim();
  const named: Record<string, number> = { minutely: 60, hourly: 3600, daily: 86400, weekly: 604800 };
  if (named[e] !== undefined) return named[e]!;
  // `*:0/5`, `*:00/5:00`, `*-*-* *:0/5:00`, `*:*` (every minute).
  const m = /^(?:\*-\*-\*\s+)?\*:(\*|\d+(?:\/\d+)?)(?::\d+)?$/.exec(e);
  if (!m) return null;
  if (m[1] === '*') return 60;
  const [start, step] = m[1]!.split('/').map(Number);
  if (step === undefined) return 3600;
  const runs = expandCronField(`${start}-59/${step}`, 0, 59);
  if (!runs) return null;
  let gap = runs[0]! + 60 - runs[runs.length - 1]!;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i]! - runs[i - 1]!);
  return gap * 60;
}

/** Pure: a .timer and its .service → the one-shot sync, when the service runs a one-shot tool. */
export function parseSystemdTimer(timerText: string, serviceText: string, source: string): OneShotSync | null {
  const exec = /^\s*ExecStart\s*=\s*[-@:+!]*(.+)$/m.exec(serviceText)?.[1]?.trim();
  const tool = exec ? oneShotTool(exec) : null;
  if (!exec || !tool) return null;
  const lines = timerText.split('\n').map((l) => l.trim());
  const get = (k: string) => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1).trim();
  for (const k of ['OnUnitActiveSec', 'OnUnitInactiveSec']) {
    const v = get(k);
    if (v) return { tool, command: exec.slice(0, 2048), source, schedule: `${k}=${v}`, intervalS: spanS(v) };
  }
  const cal = get('OnCalendar');
  if (cal) return { tool, command: exec.slice(0, 2048), source, schedule: `OnCalendar=${cal}`, intervalS: calendarIntervalS(cal) };
  return null;
}

const listable = (n: string) => !n.startsWith('.') && !n.endsWith('~') && !n.endsWith('.dpkg-old');

function list(root: string, dir: string, cache: FileCache | undefined): readonly string[] {
  if (!cache) {
    try {
      return readdirSync(underRoot(root, dir)).filter(listable);
    } catch {
      return [];
    }
  }
  const hostDir = cache.hostPath(root, dir);
  const names = cache.list(hostDir);
  return names ? cache.memo(`list ${hostDir}`, [names], () => names.filter(listable)) : [];
}

/** A file's one-shot entries: parsed once per change of the file with a cache, every time without. */
function parsedFile<T>(root: string, guestPath: string, cache: FileCache | undefined, name: string, parse: (trimmed: string | null) => T): T {
  if (!cache) return parse(readOptionalCached(root, guestPath, undefined));
  return cache.derive(cache.hostPath(root, guestPath), `${name} ${guestPath}`, (t) => parse(t === null ? null : t.trim()));
}

const scriptEntry = (text: string | null, source: string, schedule: string, intervalS: number): OneShotSync | null => {
  const line = text?.split('\n').find((l) => !l.trim().startsWith('#') && oneShotTool(l));
  return line ? { tool: oneShotTool(line)!, command: line.trim().slice(0, 2048), source, schedule, intervalS } : null;
};

/**
 * Reads the guest's crontabs and systemd timers; returns the most frequent one-shot sync found
 * (the one that keeps the clock best), or null. A dozen small reads, no spawn. With a FileCache
 * (a long-running agent), one stat per file and directory while nothing changed, and each file
 * parsed again only when it changed: the same answer as without (test/agent/oneshot-cache.test.ts).
 */
export async function readOneShotSync(root: string, cache?: FileCache): Promise<OneShotSync | null> {
  const found: OneShotSync[] = [];
  const crontab = (guestPath: string, system: boolean) =>
    parsedFile(root, guestPath, cache, system ? 'crontab-system' : 'crontab-user', (t) => (t ? parseCrontab(t, guestPath, system) : []));
  found.push(...crontab('/etc/crontab', true));
  for (const n of list(root, '/etc/cron.d', cache)) found.push(...crontab(`/etc/cron.d/${n}`, true));
  for (const dir of ['/var/spool/cron/crontabs', '/var/spool/cron']) {
    for (const n of list(root, dir, cache)) found.push(...crontab(`${dir}/${n}`, false));
  }
  for (const [dir, intervalS, schedule] of [['/etc/cron.hourly', 3600, 'hourly'], ['/etc/cron.daily', 86400, 'daily']] as const) {
    for (const n of list(root, dir, cache)) {
      const source = `${dir}/${n}`;
      const s = parsedFile(root, source, cache, `run-parts ${schedule}`, (t) => scriptEntry(t, source, schedule, intervalS));
      if (s) found.push(s);
    }
  }
  // Enabled timers only (systemctl enable links them into timers.target.wants); the unit file may
  // live in /etc or the vendor directories (systemd.unit(5) search path).
  const unitDirs = ['/etc/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];
  // With a cache, each unit directory's listing (one stat of the directory per cycle) says which
  // of them holds a unit, instead of a stat of every candidate path. A directory that cannot be
  // listed (execute but no read permission) is tried path by path as without a cache.
  const unitNames = unitDirs.map((d) => {
    if (!cache) return null;
    const hostDir = cache.hostPath(root, d);
    const names = cache.list(hostDir);
    return names ? cache.memo(`names ${hostDir}`, [names], () => new Set(names)) : null;
  });
  const readUnit = (name: string) => {
    for (const [i, d] of unitDirs.entries()) {
      if (unitNames[i] && !unitNames[i]!.has(name)) continue;
      const text = readOptionalCached(root, `${d}/${name}`, cache);
      if (text !== null) return text;
    }
    return null;
  };
  const memo = <T>(name: string, inputs: readonly unknown[], compute: () => T): T => (cache ? cache.memo(`${name} ${root}`, inputs, compute) : compute());
  for (const n of list(root, '/etc/systemd/system/timers.target.wants', cache).filter((x) => x.endsWith('.timer'))) {
    const timer = readUnit(n);
    if (!timer) continue;
    const unit = memo(`unit ${n}`, [timer], () => /^\s*Unit\s*=\s*(\S+)/m.exec(timer)?.[1] ?? n.replace(/\.timer$/, '.service'));
    const service = readUnit(unit);
    const s = service ? memo(`timer ${n}`, [timer, service], () => parseSystemdTimer(timer, service, n)) : null;
    if (s) found.push(s);
  }
  if (found.length === 0) return null;
  // A copy: the entries found may be the cache's, and the report is the caller's to change.
  return { ...found.reduce((a, b) => ((b.intervalS ?? Infinity) < (a.intervalS ?? Infinity) ? b : a)) };
}
