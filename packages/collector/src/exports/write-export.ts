/**
 * Writing one export: its files first, then its manifest (each atomically), so a manifest on disk
 * only ever names complete files; signed when a key is configured; retention applied after.
 *
 * A file's content may be chunks (a generator, sync or async): they are written as they come,
 * ~256 KiB at a time, hashed on the way, and never joined into one string; each write is awaited,
 * so a served collector's event loop runs between them.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ClockwatchError, ErrorCodes } from '@clockwatch/shared';
import { SAFE_FILE_NAME, writeAtomic, writeFileAtomic, type ManifestFile } from './atomic-write.js';
import { MANIFEST_FORMAT, MANIFEST_SUFFIX, MANIFEST_VERSION, exportBaseName, loadSigningKey, signManifest, type Manifest } from './manifest.js';
import type { ExportPeriod } from './model.js';
import { isoUtc } from './model.js';
import { pruneExports } from './retention.js';

/** A file's content produced piece by piece. */
export type ExportChunks = Iterable<string> | AsyncIterable<string>;

export interface ExportFileInput {
  name: string;
  content: string | Uint8Array | ExportChunks;
}

const FLUSH_BYTES = 256 * 1024;

/** Writes chunks to `dir/name` atomically (writeAtomic), hashed on the way; returns its size and SHA-256. */
export async function writeChunksAtomic(dir: string, name: string, chunks: ExportChunks, opts: { noReplace?: boolean } = {}): Promise<ManifestFile> {
  return writeAtomic(
    dir,
    name,
    async (fh) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let pending: string[] = [];
      let pendingLen = 0;
      const flush = async () => {
        if (pending.length === 0) return;
        const buf = Buffer.from(pending.join(''), 'utf8');
        pending = [];
        pendingLen = 0;
        hash.update(buf);
        bytes += buf.length;
        await fh.write(buf);
      };
      for await (const chunk of chunks as AsyncIterable<string>) {
        pending.push(chunk);
        pendingLen += chunk.length;
        if (pendingLen >= FLUSH_BYTES) await flush();
      }
      await flush();
      return { name, bytes, sha256: hash.digest('hex') };
    },
    opts,
  );
}

const isChunks = (c: ExportFileInput['content']): c is ExportChunks => typeof c !== 'string' && !(c instanceof Uint8Array);

export interface WriteExportOptions {
  dir: string;
  period: ExportPeriod;
  generatedAtMs: number;
  files: readonly ExportFileInput[];
  /** Defaults to exportBaseName(period). */
  name?: string;
  /** Ed25519 private key (KeyObject or PEM); the manifest is signed when given. */
  signingKey?: KeyObject | string | Buffer | null;
  /** Keep only the newest `keep` exports in `dir` after writing (retention). */
  keep?: number | null;
  /** Recorded in the (signed) manifest: a schedule run or a manual one. */
  kind?: 'scheduled' | 'manual';
  /** Fail with EEXIST rather than replace any file already there (scheduled exports). */
  noReplace?: boolean;
}

export interface WriteExportResult {
  manifestPath: string;
  manifest: Manifest;
  /** Files removed by retention. */
  removed: string[];
}

/** Writes an export's files and then its manifest, atomically each; applies retention when asked. */
export async function writeExport(o: WriteExportOptions): Promise<WriteExportResult> {
  const name = o.name ?? exportBaseName(o.period);
  if (!SAFE_FILE_NAME.test(name + MANIFEST_SUFFIX)) throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export name '${name}' is not a plain file name`);
  const seen = new Set<string>();
  for (const f of o.files) {
    if (seen.has(f.name) || f.name === name + MANIFEST_SUFFIX) throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export file '${f.name}' given twice or named like the manifest`);
    seen.add(f.name);
  }
  const key = o.signingKey ? (typeof o.signingKey === 'string' || Buffer.isBuffer(o.signingKey) ? loadSigningKey(o.signingKey) : o.signingKey) : null;
  await mkdir(o.dir, { recursive: true });
  const files: ManifestFile[] = [];
  for (const f of o.files) files.push(isChunks(f.content) ? await writeChunksAtomic(o.dir, f.name, f.content, { noReplace: o.noReplace }) : await writeFileAtomic(o.dir, f.name, f.content, { noReplace: o.noReplace }));
  let manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    name,
    period: { fromMs: o.period.fromMs, toMs: o.period.toMs, from: isoUtc(o.period.fromMs), to: isoUtc(o.period.toMs) },
    generatedAtMs: o.generatedAtMs,
    generatedAt: isoUtc(o.generatedAtMs),
    ...(o.kind ? { kind: o.kind } : {}),
    files,
  };
  if (key) manifest = signManifest(manifest, key);
  await writeFileAtomic(o.dir, name + MANIFEST_SUFFIX, JSON.stringify(manifest, null, 2) + '\n', { noReplace: o.noReplace });
  const removed = o.keep !== undefined && o.keep !== null ? (await pruneExports(o.dir, o.keep)).removed : [];
  return { manifestPath: join(o.dir, name + MANIFEST_SUFFIX), manifest, removed };
}
