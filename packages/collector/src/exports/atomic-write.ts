/**
 * Atomic file writes for the export directory, with the one durable write both programs use
 * (@clockwatch/shared/node writeFileDurable: temp file, fsync, rename, fsync of the directory):
 * a reader or a crash sees the old file or the new one, never half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
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
 * Writes `data` to `dir/name` atomically (temp file, fsync, rename, fsync dir); returns its size and
 * SHA-256. `noReplace`: link(2) instead of rename(2), which fails with EEXIST rather than replace a
 * file already there (scheduled exports are evidence: never overwritten).
 */
export async function writeFileAtomic(dir: string, name: string, data: string | Uint8Array, opts: { noReplace?: boolean } = {}): Promise<ManifestFile> {
  if (!SAFE_FILE_NAME.test(name)) throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export file name '${name}' is not a plain file name`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    try {
      await fh.writeFile(bytes);
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
  return { name, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
