/**
 * The spool: every report is written here before its first send and removed only after the
 * collector acknowledged it, so a report survives a collector outage, a crash and a SIGKILL.
 *
 * Layout (one directory, owned by the agent):
 *   000000000042-<reportId>.json   one report per file; lexical order = seq order = creation order
 *   last.json                      the last report that left the spool (acknowledged, rejected or
 *                                  dropped files are renamed here, not unlinked): with the report
 *                                  files it keeps the highest seq on disk, so the sequence
 *                                  continues without a gap or a repeat after a restart
 *   state.json                     { dropped, rejected, bad } — counters that outlive restarts
 *   bad/                           report files that could not be read or hold no report of their
 *                                  own name (truncated, `null`, `{}`, a string...): moved here once,
 *                                  counted as bad and as dropped, never sent, never looked at again
 *   agent-id                       the generated agent id, when the guest has no machine-id/SMBIOS UUID
 * Every write is a temporary file, fsync, rename, fsync of the directory (rename(2) is atomic, the
 * directory fsync makes the new name durable); a leftover `*.tmp` is a write that never happened.
 * The writes are synchronous system calls (writeFileDurableSync): a few KiB, and the agent has
 * nothing to do while they run; through fs/promises the same steps cost ~1 ms more CPU per cycle.
 * Bounded by count and bytes: the oldest reports are dropped first and counted.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Report } from '@clockwatch/shared';
import { writeFileDurable, writeFileDurableSync } from '@clockwatch/shared/node';

export interface SpoolOptions {
  dir: string;
  maxReports?: number;
  maxBytes?: number;
}

export interface SpoolEntry {
  file: string;
  seq: number;
  reportId: string;
  bytes: number;
}

export interface SpoolCounts {
  pending: number;
  dropped: number;
  rejected: number;
}

interface SpoolState {
  seq: number;
  dropped: number;
  rejected: number;
  /** Files moved to bad/ (also counted in dropped: each was a report that will never arrive). */
  bad: number;
}

/** Why a spool file was moved to bad/ (the agent logs it once, when it moves it). */
export type BadEntryHandler = (file: string, reason: string) => void;

const FILE_RE = /^(\d{12})-([A-Za-z0-9_-]{8,64})\.json$/;

/** Atomic, durable replace of a file (the one durable write both programs use). */
export { writeFileDurable };

export class Spool {
  readonly dir: string;
  readonly maxReports: number;
  readonly maxBytes: number;
  private state: SpoolState = { seq: 0, dropped: 0, rejected: 0, bad: 0 };
  /** Last seq handed out. */
  private seq = 0;
  private entries: SpoolEntry[] = [];
  /** Reports written by this process and not yet acknowledged: read() needs no disk read for them. */
  private recent = new Map<string, Report>();

  private constructor(o: SpoolOptions) {
    this.dir = o.dir;
    this.maxReports = Math.max(1, o.maxReports ?? 1000);
    this.maxBytes = Math.max(64 * 1024, o.maxBytes ?? 16 * 1024 * 1024);
  }

  /** Opens (creating) the spool, drops leftover temporary files and lists what waits to be sent. */
  static async open(o: SpoolOptions): Promise<Spool> {
    const s = new Spool(o);
    mkdirSync(s.dir, { recursive: true, mode: 0o700 });
    try {
      const st = JSON.parse(readFileSync(path.join(s.dir, 'state.json'), 'utf8')) as Partial<SpoolState>;
      for (const k of ['seq', 'dropped', 'rejected', 'bad'] as const) {
        const v = st[k];
        if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) s.state[k] = v;
      }
    } catch {
      // first start, or a state file lost: counters restart, seq is recovered from the files below
    }
    for (const name of readdirSync(s.dir)) {
      if (name.endsWith('.tmp')) {
        try {
          unlinkSync(path.join(s.dir, name));
        } catch {
          // already gone
        }
        continue;
      }
      const m = FILE_RE.exec(name);
      if (!m) continue;
      const bytes = statSync(path.join(s.dir, name)).size;
      s.entries.push({ file: name, seq: Number(m[1]), reportId: m[2]!, bytes });
    }
    s.entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    let lastSeq = 0;
    try {
      const last = JSON.parse(readFileSync(path.join(s.dir, 'last.json'), 'utf8')) as { seq?: unknown };
      if (typeof last.seq === 'number' && Number.isSafeInteger(last.seq)) lastSeq = last.seq;
    } catch {
      // nothing has left the spool yet
    }
    // Continue after the highest seq on disk (state.seq: spools written by an earlier layout).
    s.seq = Math.max(s.state.seq, lastSeq, s.entries.at(-1)?.seq ?? 0);
    s.state.seq = s.seq;
    return s;
  }

  /**
   * The next sequence number. Contiguous across restarts without a write per cycle: the highest
   * seq that reached the disk is in a report file name or in last.json, and one that never reached
   * the disk was never sent either.
   */
  async nextSeq(): Promise<number> {
    this.seq += 1;
    this.state.seq = this.seq;
    return this.seq;
  }

  /** The last seq handed out (pulled reports repeat it rather than open a gap in the pushed sequence). */
  currentSeq(): number {
    return this.seq;
  }

  counts(): SpoolCounts {
    return { pending: this.entries.length, dropped: this.state.dropped, rejected: this.state.rejected };
  }

  /** Oldest first. */
  list(): readonly SpoolEntry[] {
    return this.entries;
  }

  /** Files moved to bad/ over the spool's life. */
  badCount(): number {
    return this.state.bad;
  }

  bytes(): number {
    return this.entries.reduce((n, e) => n + e.bytes, 0);
  }

  /** Writes a report durably, then enforces the bounds (dropping the oldest, counted). Returns how many were dropped. */
  async add(report: Report): Promise<number> {
    const file = `${String(report.seq).padStart(12, '0')}-${report.reportId}.json`;
    const data = JSON.stringify(report);
    writeFileDurableSync(path.join(this.dir, file), data);
    this.entries.push({ file, seq: report.seq, reportId: report.reportId, bytes: Buffer.byteLength(data) });
    this.recent.set(report.reportId, report);
    if (this.recent.size > 64) this.recent.delete(this.recent.keys().next().value as string);
    this.entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    let dropped = 0;
    while (this.entries.length > 1 && (this.entries.length > this.maxReports || this.bytes() > this.maxBytes)) {
      const oldest = this.entries[0]!;
      await this.removeFile(oldest);
      dropped++;
    }
    if (dropped > 0) {
      this.state.dropped += dropped;
      await this.saveState();
    }
    return dropped;
  }

  /**
   * The stored report, or null when there is none to send: the file vanished, or it is not a
   * report of its own name — unreadable, truncated, not JSON, or any JSON value other than an
   * object whose reportId and seq are the ones in the file name (`null`, `0`, `false`, `""`, `{}`,
   * `"x"`, an array...). Such a file is moved to bad/ (not deleted: it is evidence of what went
   * wrong), counted, and `onBad` is told once; the entry leaves the list whatever happens, so a
   * caller looping over the spool always makes progress.
   */
  async read(entry: SpoolEntry, onBad?: BadEntryHandler): Promise<Report | null> {
    const mem = this.recent.get(entry.reportId);
    if (mem) return mem;
    let text: string;
    try {
      text = readFileSync(path.join(this.dir, entry.file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.entries = this.entries.filter((e) => e !== entry);
        return null;
      }
      await this.quarantine(entry, `unreadable: ${(err as Error).message}`, onBad);
      return null;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      await this.quarantine(entry, `not JSON (${text.length} bytes, truncated?): ${(err as Error).message}`, onBad);
      return null;
    }
    const why = notAReport(value, entry);
    if (why) {
      await this.quarantine(entry, why, onBad);
      return null;
    }
    return value as Report;
  }

  /** Moves a bad file to bad/, counts it; the entry is forgotten even if the move fails. */
  private async quarantine(entry: SpoolEntry, reason: string, onBad?: BadEntryHandler): Promise<void> {
    this.entries = this.entries.filter((e) => e !== entry);
    this.recent.delete(entry.reportId);
    const badDir = path.join(this.dir, 'bad');
    let where = `${path.join('bad', entry.file)}`;
    try {
      mkdirSync(badDir, { recursive: true, mode: 0o700 });
      renameSync(path.join(this.dir, entry.file), path.join(badDir, entry.file));
    } catch (err) {
      // Cannot move it (read-only directory?): unlink so the next start does not find it again.
      where = `nowhere (${(err as Error).message}); removed`;
      try {
        unlinkSync(path.join(this.dir, entry.file));
      } catch {
        where = `nowhere (${(err as Error).message}); it stays and is skipped this run`;
      }
    }
    this.state.dropped += 1;
    this.state.bad += 1;
    await this.saveState();
    onBad?.(entry.file, `${reason}; moved to ${where}`);
  }

  /** The collector stored it (or already had it): forget it. */
  async ack(reportId: string): Promise<boolean> {
    const e = this.entries.find((x) => x.reportId === reportId);
    if (!e) return false;
    await this.removeFile(e);
    return true;
  }

  /** The collector refused it for good (4xx): forget it, counted. */
  async reject(reportId: string): Promise<void> {
    const e = this.entries.find((x) => x.reportId === reportId);
    if (e) await this.removeFile(e);
    this.state.rejected += 1;
    await this.saveState();
  }

  /** The generated agent id kept in the spool (created on first use when `create`). */
  async keptAgentId(create: boolean): Promise<string | null> {
    const file = path.join(this.dir, 'agent-id');
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(id)) return id;
    } catch {
      // not generated yet
    }
    if (!create) return null;
    const id = randomUUID();
    await writeFileDurable(file, `${id}\n`);
    return id;
  }

  /**
   * A report leaves the spool by a rename to last.json (see the layout above). Not fsynced: if a
   * crash brings an acknowledged file back, it is sent again and the collector answers "duplicate"
   * (reportId) — harmless, and no fsync per cycle.
   */
  private async removeFile(e: SpoolEntry, keepAsLast = true): Promise<void> {
    try {
      if (keepAsLast) renameSync(path.join(this.dir, e.file), path.join(this.dir, 'last.json'));
      else unlinkSync(path.join(this.dir, e.file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.entries = this.entries.filter((x) => x !== e);
    this.recent.delete(e.reportId);
  }

  private async saveState(): Promise<void> {
    writeFileDurableSync(path.join(this.dir, 'state.json'), JSON.stringify(this.state));
  }
}

/** Why a parsed spool file is not the report its name says (null: it is). */
function notAReport(value: unknown, entry: SpoolEntry): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `holds ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not a report`;
  }
  const r = value as { reportId?: unknown; seq?: unknown };
  if (r.reportId !== entry.reportId || r.seq !== entry.seq) {
    return `holds an object that is not report seq ${entry.seq} id ${entry.reportId}`;
  }
  return null;
}

/** Reads the generated agent id from a spool directory without creating anything (for --print). */
export async function readKeptAgentId(dir: string): Promise<string | null> {
  try {
    const id = readFileSync(path.join(dir, 'agent-id'), 'utf8').trim();
    return /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}
