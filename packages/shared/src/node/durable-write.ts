/**
 * The one durable write both programs use (the agent's spool, the collector's exports): the data
 * goes to a temporary file in the same directory, is fsync'ed, renamed over the final name
 * (rename(2) is atomic within a file system), and the directory is fsync'ed so that the new name
 * survives a crash (fsync(2): "calling fsync() on the file does not ensure that the entry in the
 * directory containing the file has also reached disk"). A reader or a crash sees the old file or
 * the new one, never half of one; a leftover `.<name>.<hex>.tmp` is a write that never happened.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The temporary name a write of `file` uses (hidden, same directory, ends in .tmp). */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** fsync of a directory; platforms that cannot (EISDIR/EPERM/EINVAL/EBADF) keep the atomic rename. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export interface DurableWriteOptions {
  /** Mode of a new file (default 0o600: the spool holds reports; exports pass 0o644). */
  mode?: number;
}

/** Replaces `file` with `data` atomically and durably (see the module comment). */
export async function writeFileDurable(file: string, data: string | Uint8Array, o: DurableWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(file);
  const fh = await open(tmp, 'wx', o.mode ?? 0o600);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(file));
}

/** fsync of a directory, synchronously (the same rule as fsyncDir). */
export function fsyncDirSync(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * writeFileDurable with the same steps as synchronous system calls: for a small file (the agent's
 * spool, a report of a few KiB), each fs/promises step is a hop to the thread pool and back with
 * its promise, which costs far more CPU than the system call (measured: bench/README.md, "Agent
 * CPU"). It blocks the event loop for the fsyncs: right for a process with nothing else to do.
 */
export function writeFileDurableSync(file: string, data: string | Uint8Array, o: DurableWriteOptions = {}): void {
  const tmp = tempPathFor(file);
  const fd = openSync(tmp, 'wx', o.mode ?? 0o600);
  try {
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < buf.byteLength; ) off += writeSync(fd, buf, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw e;
  }
  fsyncDirSync(dirname(file));
}
