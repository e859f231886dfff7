/**
 * Atomic file writes for the export directory, with the one durable write both programs use
 * (@clockwatch/shared/node writeFileDurable: temp file, fsync, rename, fsync of the directory):
 * a reader or a crash sees the old file or the new one, never half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ClockwatchError, ErrorCodes } from '@clockwatch/shared';
import { fsyncDir } from '@clockwatch/shared/node';

export { fsyncDir } from '@clockwatch/shared/node';

/** A file as a manifest lists it. */
export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** File names the export directory accepts: one path segment, no leading dot. */
export const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * The one atomic write of the export directory: `fill` writes a fresh temp file beside
 * `dir/name` (created O_EXCL, mode 0644); then fsync, then rename(2), or with `noReplace` link(2),
 * which fails with EEXIST rather than replace a file already there (scheduled exports are
 * evidence: never overwritten); then fsync of the directory. The temp file goes on any failure.
 */
export async function writeAtomic<T>(dir: string, name: string, fill: (fh: FileHandle) => Promise<T>, opts: { noReplace?: boolean } = {}): Promise<T> {
  if (!SAFE_FILE_NAME.test(name)) throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export file name '${name}' is not a plain file name`);
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  let result: T;
  try {
    try {
      result = await fill(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.noReplace) {
      await link(tmp, join(dir, name));
      await unlink(tmp);
    } else {
      await rename(tmp, join(dir, name));
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dir);
  return result;
}

/** Writes `data` to `dir/name` atomically (writeAtomic); returns its size and SHA-256. */
export async function writeFileAtomic(dir: string, name: string, data: string | Uint8Array, opts: { noReplace?: boolean } = {}): Promise<ManifestFile> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await writeAtomic(dir, name, (fh) => fh.writeFile(bytes), opts);
  return { name, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
