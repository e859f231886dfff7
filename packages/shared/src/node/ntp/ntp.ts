/**
 * Which NTP daemon runs, then its status from that daemon's own tool (daemon-specific status beats
 * kernel flags: chrony leaves STA_UNSYNC set without rtcsync, domain.md §5.1, §11.3).
 *
 * Detection reads /proc/[pid]/comm (proc(5); comm is truncated to 15 characters, so
 * systemd-timesyncd shows as `systemd-timesyn`), world-readable unless /proc is mounted with
 * hidepid; and pid files (/run/chrony/chronyd.pid on Debian, /run/chronyd.pid on RHEL,
 * /run/ntpd.pid, /var/run/ntpd.pid) whose pid is alive. No spawn: only the one daemon found is
 * asked (chronyc: 1 process, timedatectl: 2, ntpq: 1).
 */
import { existsSync, readdirSync } from 'node:fs';
import { ErrorCodes, type NtpInfo, type NtpSection } from '@clockwatch/shared';
import { readOptional, readOptionalCached, underRoot, unreadNtp, type NtpReaderContext as ReaderContext } from './context.js';
import type { FileCache } from './file-cache.js';
import { readChrony } from './chrony.js';
import { readKernelTimex } from './kernel.js';
import { readOneShotSync } from './oneshot.js';
import { readNtpd } from './ntpd.js';
import { readTimesyncd } from './timesyncd.js';

/** comm → daemon name, in order of preference when several run (chronyd and timesyncd conflict). */
export const DAEMON_COMMS: ReadonlyArray<readonly [comm: string, daemon: string]> = [
  ['chronyd', 'chronyd'],
  ['ntpd', 'ntpd'],
  ['ntpsec', 'ntpd'],
  ['systemd-timesyn', 'systemd-timesyncd'],
  ['openntpd', 'openntpd'],
  ['htpdate', 'htpdate'],
];

const PID_FILES: ReadonlyArray<readonly [string, string]> = [
  ['/run/chrony/chronyd.pid', 'chronyd'],
  ['/run/chronyd.pid', 'chronyd'],
  ['/var/run/chronyd.pid', 'chronyd'],
  ['/run/ntpd.pid', 'ntpd'],
  ['/var/run/ntpd.pid', 'ntpd'],
];

export interface DaemonScan {
  /** Daemons found, in preference order, each once. */
  daemons: string[];
  /**
   * How: a full /proc scan, a pid file, a pid file whose process /proc hides (hidepid), the cached
   * pid, nothing found, or nothing visible because /proc hides other users' processes.
   */
  via: 'proc' | 'pidfile' | 'pidfile-hidden' | 'cached' | 'none' | 'hidden';
  processes: number;
}

/**
 * The hidepid= option of the /proc mount (proc(5): hidepid=1|noaccess, 2|invisible, 4|ptraceable):
 * with it, other users' /proc/<pid> cannot be read (1) or are not even listed (2), so not seeing a
 * daemon proves nothing.
 */
export function procHidepid(mounts: string): string | null {
  for (const line of mounts.split('\n')) {
    const f = line.split(/\s+/);
    if (f[1] !== '/proc' || f[2] !== 'proc') continue;
    const opt = (f[3] ?? '').split(',').find((o) => o.startsWith('hidepid='));
    const v = opt?.slice('hidepid='.length);
    if (v && v !== '0' && v !== 'off') return v;
  }
  return null;
}

/**
 * Remembers the daemon between cycles so that a cycle reads one /proc file instead of every
 * process's comm: the cached pid is re-checked each time; when no daemon runs, the full scan is
 * repeated at most every `rescanMs` (a daemon started later is seen within that time).
 */
export interface DaemonCache {
  pid?: string;
  daemon?: string;
  noneUntilMs?: number;
  /**
   * The scan that set noneUntilMs found nothing while /proc hides other users' processes: until
   * the rescan the answer stays 'hidden' (unknown), never 'none'. /proc/mounts is read again with
   * the process list, at the rescan.
   */
  noneHidden?: boolean;
  rescanMs?: number;
  /** chronyc sourcename answers by address (null: no name). */
  chronyNames?: Record<string, string | null>;
}

/** Pure: the comm names of running processes → known daemons in preference order. */
export function daemonsFromComms(comms: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const c of comms) seen.add(c.trim());
  const out: string[] = [];
  for (const [comm, daemon] of DAEMON_COMMS) if (seen.has(comm) && !out.includes(daemon)) out.push(daemon);
  return out;
}

const commOf = (daemon: string) => DAEMON_COMMS.filter(([, d]) => d === daemon).map(([c]) => c);

export async function detectNtpDaemons(root: string, cache?: DaemonCache, nowMs: number = Date.now(), files?: FileCache): Promise<DaemonScan> {
  if (cache?.pid && cache.daemon) {
    const comm = await readOptional(root, `/proc/${cache.pid}/comm`);
    if (comm !== null && commOf(cache.daemon).includes(comm)) return { daemons: [cache.daemon], via: 'cached', processes: 0 };
    delete cache.pid;
    delete cache.daemon;
  }
  // /proc's hidepid matters only to a pid file whose process is not listed and to a scan that
  // found nothing: /proc/mounts is read then, not every cycle (on a guest without a daemon, the
  // cached answer below needs no read at all).
  let hidepid: string | null | undefined;
  const hidden = async (): Promise<string | null> => {
    if (hidepid === undefined) hidepid = procHidepid((await readOptional(root, '/proc/mounts')) ?? '');
    return hidepid;
  };
  // Pid files first (a few reads). They also tell under hidepid=1, where /proc/<pid> is listed but
  // its files are not readable; a pid reused by another program is caught by its comm.
  for (const [file, daemon] of PID_FILES) {
    // Mostly absent: a stat that finds nothing instead of a failed open with its exception.
    const pid = readOptionalCached(root, file, files);
    if (!pid || !/^\d+$/.test(pid)) continue;
    if (!existsSync(underRoot(root, `/proc/${pid}`))) {
      // hidepid=2 hides the process the pid file names: it may well run; ask it (chronyc and ntpq
      // talk over UDP, unaffected by hidepid) rather than report "no daemon".
      if (await hidden()) return { daemons: [daemon], via: 'pidfile-hidden', processes: 0 };
      continue;
    }
    const comm = await readOptional(root, `/proc/${pid}/comm`);
    if (comm !== null && !commOf(daemon).includes(comm)) continue;
    if (cache && comm !== null) Object.assign(cache, { pid, daemon });
    return { daemons: [daemon], via: 'pidfile', processes: 0 };
  }
  if (cache?.noneUntilMs !== undefined && nowMs < cache.noneUntilMs) return { daemons: [], via: cache.noneHidden ? 'hidden' : 'none', processes: 0 };
  let pids: string[] = [];
  try {
    pids = readdirSync(underRoot(root, '/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    // no /proc under this root
  }
  const byPid = new Map<string, string>();
  for (const pid of pids) {
    const comm = await readOptional(root, `/proc/${pid}/comm`);
    if (comm !== null) byPid.set(pid, comm);
  }
  const daemons = daemonsFromComms(byPid.values());
  const noneHidden = daemons.length === 0 && (await hidden()) !== null;
  if (cache) {
    delete cache.noneUntilMs;
    delete cache.noneHidden;
    const first = daemons[0];
    if (first) {
      const pid = [...byPid].find(([, c]) => commOf(first).includes(c))?.[0];
      if (pid) Object.assign(cache, { pid, daemon: first });
    } else Object.assign(cache, { noneUntilMs: nowMs + (cache.rescanMs ?? 300_000), noneHidden });
  }
  if (noneHidden) return { daemons: [], via: 'hidden', processes: pids.length };
  return { daemons, via: daemons.length > 0 ? 'proc' : 'none', processes: pids.length };
}

const unknownStatus = (daemon: string): NtpInfo =>
  unreadNtp(daemon, { statusError: { code: ErrorCodes.UNSUPPORTED, message: `${daemon} runs; clockwatch cannot read its status` } });

/**
 * The NTP section of the report. The collector imports this to read its host's own NTP state.
 * No daemon: a periodic one-shot sync (cron / systemd timer) when one is configured, else
 * `daemon: 'none'` with every value null (the clock is free-running; nothing measured). Processes
 * hidden by hidepid: `unknown`, never "none".
 */
export async function readNtp(ctx: ReaderContext): Promise<NtpSection> {
  const scan = await detectNtpDaemons(ctx.root, ctx.daemonCache, (ctx.nowMs ?? Date.now)(), ctx.fileCache);
  const daemon = scan.daemons[0];
  let out: NtpInfo;
  switch (daemon) {
    case undefined: {
      const oneShot = await readOneShotSync(ctx.root, ctx.fileCache);
      if (oneShot) {
        out = unreadNtp(oneShot.tool, { pollIntervalS: oneShot.intervalS, oneShot });
        break;
      }
      if (scan.via === 'hidden') {
        return unreadNtp('unknown', {
          statusError: { code: ErrorCodes.PERMISSION, message: 'no NTP daemon is visible, but /proc is mounted with hidepid: other users\' processes cannot be seen' },
        });
      }
      out = unreadNtp('none');
      break;
    }
    case 'chronyd':
      out = await readChrony(ctx);
      break;
    case 'ntpd':
      out = await readNtpd(ctx);
      break;
    case 'systemd-timesyncd':
      out = await readTimesyncd(ctx);
      break;
    default:
      out = unknownStatus(daemon);
  }
  if (scan.via === 'pidfile-hidden' && out.statusError) {
    out = { ...out, statusError: { code: out.statusError.code, message: `${out.statusError.message} (its pid file is present but /proc hides the process: hidepid)` } };
  }
  const kernel = await readKernelTimex(ctx);
  return kernel ? { ...out, kernel } : out;
}
