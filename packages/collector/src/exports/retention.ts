/**
 * The export directory as a collection: listing (GET /v1/exports), resolving a download name
 * (GET /v1/exports/:name) to a file that belongs to an export, and retention (keep the last N).
 *
 * Nothing here follows a symbolic link: a manifest or a listed file that is a symlink (to
 * /etc/passwd, say) is not read, not listed and not served. Files are opened with O_NOFOLLOW
 * (open(2): ELOOP on a symlink) and must be regular files (fstat after open, so no swap between a
 * check and the use).
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ClockwatchError, ErrorCodes } from '@clockwatch/shared';
import { SAFE_FILE_NAME } from './atomic-write.js';
import { MANIFEST_SUFFIX, manifestShapeProblems, type Manifest } from './manifest.js';

export interface ExportListing {
  /** Manifest file name. */
  manifestName: string;
  manifest: Manifest;
}

/** Every export in `dir`, newest first (by generatedAtMs, then name); unreadable manifests are listed in `errors`. */
export async function listExports(dir: string): Promise<{ exports: ExportListing[]; errors: { name: string; message: string }[] }> {
  const exports: ExportListing[] = [];
  const errors: { name: string; message: string }[] = [];
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(MANIFEST_SUFFIX) && SAFE_FILE_NAME.test(n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exports, errors };
    throw e;
  }
  for (const n of names) {
    try {
      const fh = await openRegularFile(join(dir, n));
      let text: string;
      try {
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
      const v = JSON.parse(text) as unknown;
      const shape = manifestShapeProblems(v);
      if (shape.length > 0) errors.push({ name: n, message: shape.join('; ') });
      else exports.push({ manifestName: n, manifest: v as Manifest });
    } catch (e) {
      errors.push({ name: n, message: (e as Error).message });
    }
  }
  exports.sort((a, b) => b.manifest.generatedAtMs - a.manifest.generatedAtMs || (a.manifestName < b.manifestName ? 1 : -1));
  return { exports, errors };
}

/**
 * Path of a file that belongs to an export in `dir` (a manifest or a file a manifest lists), or
 * null: a download route serves nothing else, and no name can leave the directory.
 */
export async function findExportFile(dir: string, name: string): Promise<string | null> {
  if (!SAFE_FILE_NAME.test(name)) return null;
  const { exports } = await listExports(dir);
  const known = exports.some((e) => e.manifestName === name || e.manifest.files.some((f) => f.name === name));
  if (!known) return null;
  const st = await lstat(join(dir, name)).catch(() => null);
  return st?.isFile() ? join(dir, name) : null;
}

export class NotARegularFileError extends Error {
  readonly code = 'CW_ERR_EXPORT_NOT_FOUND';
  constructor(path: string) {
    super(`${path} is not a regular file (a symlink or something else): not served`);
  }
}

/** Opens a regular file for reading without following a symlink; throws otherwise. */
export async function openRegularFile(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new NotARegularFileError(path);
    throw e;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new NotARegularFileError(path);
  }
  return fh;
}

/**
 * Retention: keeps the newest `keep` exports and deletes the others' files and manifests (a file
 * a kept manifest also lists is kept). Leftover temporary files older than an hour go too when
 * `nowMs` is given. Manifests that cannot be read are left alone.
 */
export async function pruneExports(dir: string, keep: number, nowMs?: number): Promise<{ removed: string[] }> {
  if (!Number.isInteger(keep) || keep < 1) throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export retention must keep at least 1 export, not ${keep}`);
  const { exports } = await listExports(dir);
  const kept = exports.slice(0, keep);
  const keepNames = new Set(kept.flatMap((e) => [e.manifestName, ...e.manifest.files.map((f) => f.name)]));
  const removed: string[] = [];
  const remove = async (n: string) => {
    if (keepNames.has(n) || !SAFE_FILE_NAME.test(n)) return;
    try {
      await unlink(join(dir, n));
      removed.push(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  for (const old of exports.slice(keep)) {
    // The manifest goes first: a half-pruned export then has no manifest claiming missing files.
    await remove(old.manifestName);
    for (const f of old.manifest.files) await remove(f.name);
  }
  if (nowMs !== undefined) {
    for (const n of await readdir(dir)) {
      if (!/^\..+\.[0-9a-f]{12}\.tmp$/.test(n)) continue;
      const st = await stat(join(dir, n)).catch(() => null);
      if (st && st.mtimeMs < nowMs - 3_600_000) {
        await unlink(join(dir, n)).catch(() => undefined);
        removed.push(n);
      }
    }
  }
  return { removed };
}
