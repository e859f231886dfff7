/**
 * Files a long-running reader reads every cycle (crontabs, timer units, pid files), answered
 * from memory while they are unchanged: one stat(2) instead of open/read/close plus the parse.
 * The one-shot reader (oneshot.ts) reads ~30 of them per cycle on a guest with no NTP daemon.
 *
 * A file is the same while (st_dev, st_ino, st_size, st_mtime, st_ctime) are (stat(2); to the
 * nanosecond, `bigint: true`). ctime is in the key because the kernel sets it to the current time
 * on every change of the inode and nothing can set it back (inode(7)): a tool that restores an old
 * mtime (`cp -p`, `rsync -t`, `tar x`, `touch -d`) still changes it. An editor that writes a new
 * file and renames it over the old one changes the inode. A directory's listing is the same while
 * its own (dev, ino, mtime, ctime) are: adding, removing or renaming an entry updates both
 * (inode(7), "Last modification timestamp").
 *
 * Timestamps are only as fine as the kernel's coarse clock (one tick, 1–10 ms), so two writes of
 * the same size within one tick look alike. As git ("racy git", Documentation/technical/racy-git)
 * and make do, an answer is trusted only for a file whose ctime was at least `racyMs` (2 s) before
 * it was read: a later change then carries a later ctime. A file changed less than 2 s before it
 * was read is read again on the next cycle (and so on until it has been quiet for 2 s).
 *
 * Only for files on ordinary filesystems: /proc and /sys files say nothing of their content in
 * stat (size 0 or 4096, mtime of the mount), so the callers read those every time
 * (`cacheable()`); an empty or non-regular file is always read again too.
 */
import { readdirSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';

export interface FileCacheOptions {
  /** Wall clock, ms since the epoch (the clock ctime is stamped with). */
  nowMs?: () => number;
  /** How long a file must have been unchanged before its content is trusted, ms (default 2000). */
  racyMs?: number;
}

/** What stat(2) says of a file; equal keys mean the same content (see above). */
interface StatKey {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

interface FileEntry {
  key: StatKey;
  /** The whole file as UTF-8, or null when it could not be read. */
  text: string | null;
  /** False while the file was changed less than racyMs before it was read: read again next time. */
  trusted: boolean;
  /** Pure functions of `text`, by name (derive()). */
  derived: Map<string, unknown>;
}

interface DirEntry {
  key: StatKey;
  names: string[];
  trusted: boolean;
}

export interface FileCacheCounts {
  /** Files read from disk (a miss). */
  reads: number;
  /** Answers from memory. */
  hits: number;
  /** Directories listed from disk. */
  listings: number;
}

const STAT_OPTIONS = { bigint: true, throwIfNoEntry: false } as const;
const keyOf = (st: BigIntStats): StatKey => ({ dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs });
const sameKey = (a: StatKey, b: StatKey) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** Guest paths whose stat says nothing of their content (proc(5), sysfs(5)): never cached. */
export function cacheable(guestPath: string): boolean {
  return !/^\/(?:proc|sys|dev)(?:\/|$)/.test(guestPath);
}

export class FileCache {
  private readonly files = new Map<string, FileEntry>();
  private readonly dirs = new Map<string, DirEntry>();
  private readonly joined = new Map<string, string>();
  private readonly memos = new Map<string, { inputs: readonly unknown[]; value: unknown }>();
  private readonly nowMs: () => number;
  private readonly racyNs: bigint;
  readonly counts: FileCacheCounts = { reads: 0, hits: 0, listings: 0 };

  constructor(o: FileCacheOptions = {}) {
    this.nowMs = o.nowMs ?? Date.now;
    this.racyNs = BigInt(Math.round((o.racyMs ?? 2000) * 1e6));
  }

  /** stat(2) following symlinks as open(2) does; undefined when the path cannot be stat'ed. */
  private stat(hostPath: string): BigIntStats | undefined {
    try {
      return statSync(hostPath, STAT_OPTIONS);
    } catch {
      // EACCES on a directory on the way, ENOTDIR, ELOOP: as absent (a read would fail the same way).
      return undefined;
    }
  }

  private trustedAt(key: StatKey): boolean {
    const nowNs = BigInt(Math.round(this.nowMs() * 1e6));
    const changedNs = key.ctimeNs > key.mtimeNs ? key.ctimeNs : key.mtimeNs;
    return nowNs - changedNs >= this.racyNs;
  }

  /** The entry of a regular, non-empty file; 'absent' when stat found nothing; 'other' for what is always read again. */
  private entry(hostPath: string): FileEntry | 'absent' | 'other' {
    const st = this.stat(hostPath);
    if (!st) {
      this.files.delete(hostPath);
      return 'absent';
    }
    if (!st.isFile() || st.size === 0n) {
      // A directory (a read fails: EISDIR), a FIFO, /dev/null behind a masked unit, an empty file.
      this.files.delete(hostPath);
      return 'other';
    }
    const key = keyOf(st);
    const old = this.files.get(hostPath);
    if (old && old.trusted && sameKey(old.key, key)) {
      this.counts.hits++;
      return old;
    }
    // Trust is decided before the read: a change during or after it has a ctime of now or later.
    const trusted = this.trustedAt(key);
    let text: string | null;
    try {
      text = readFileSync(hostPath, 'utf8');
    } catch {
      text = null;
    }
    this.counts.reads++;
    const e: FileEntry = { key, text, trusted, derived: new Map() };
    this.files.set(hostPath, e);
    return e;
  }

  /** root + guest path as path.join gives it, kept (path.join is most of a hit's cost). */
  hostPath(root: string, guestPath: string): string {
    const k = `${root}\0${guestPath}`;
    let p = this.joined.get(k);
    if (p === undefined) {
      p = path.join(root, guestPath);
      this.joined.set(k, p);
    }
    return p;
  }

  /** The file's text (untrimmed), or null when it cannot be read: what readFileSync gives, or its failure. */
  text(hostPath: string): string | null {
    const e = this.entry(hostPath);
    if (e === 'absent') return null;
    return e === 'other' ? readUncached(hostPath) : e.text;
  }

  /**
   * `parse(text)` of the file, computed again only when the file changed. `name` tells apart two
   * parses of one file; `parse` must be pure and its result is shared: callers must not mutate it.
   */
  derive<T>(hostPath: string, name: string, parse: (text: string | null) => T): T {
    const e = this.entry(hostPath);
    if (e === 'absent' || e === 'other') return parse(e === 'absent' ? null : readUncached(hostPath));
    if (e.derived.has(name)) return e.derived.get(name) as T;
    const v = parse(e.text);
    e.derived.set(name, v);
    return v;
  }

  /** A directory's entry names (readdir order), or null when it cannot be listed. Shared: do not mutate. */
  list(hostPath: string): readonly string[] | null {
    const st = this.stat(hostPath);
    if (!st || !st.isDirectory()) {
      this.dirs.delete(hostPath);
      return null;
    }
    const key = keyOf(st);
    const old = this.dirs.get(hostPath);
    if (old && old.trusted && sameKey(old.key, key)) {
      this.counts.hits++;
      return old.names;
    }
    const trusted = this.trustedAt(key);
    let names: string[];
    try {
      names = readdirSync(hostPath);
    } catch {
      this.dirs.delete(hostPath);
      return null;
    }
    this.counts.listings++;
    this.dirs.set(hostPath, { key, names, trusted });
    return names;
  }

  /**
   * `compute()` again only when one of `inputs` differs (===) from last time under `name`: for a
   * result of several files' texts (a timer and its service), whose cached texts are the very same
   * strings while the files are unchanged.
   */
  memo<T>(name: string, inputs: readonly unknown[], compute: () => T): T {
    const m = this.memos.get(name);
    if (m && m.inputs.length === inputs.length && m.inputs.every((x, i) => x === inputs[i])) return m.value as T;
    const value = compute();
    this.memos.set(name, { inputs, value });
    return value;
  }
}

function readUncached(hostPath: string): string | null {
  try {
    return readFileSync(hostPath, 'utf8');
  } catch {
    return null;
  }
}
