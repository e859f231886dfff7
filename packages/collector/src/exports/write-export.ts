/**
 * Writing one export: its files first, then its manifest (each atomically), so a manifest on disk
 * only ever names complete files; signed when a key is configured; retention applied after.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ClockwatchError, ErrorCodes } from '@clockwatch/shared';
import { SAFE_FILE_NAME, writeFileAtomic, type ManifestFile } from './atomic-write.js';
import { MANIFEST_FORMAT, MANIFEST_SUFFIX, MANIFEST_VERSION, exportBaseName, loadSigningKey, signManifest, type Manifest } from './manifest.js';
import type { ExportPeriod } from './model.js';
import { isoUtc } from './model.js';
import { pruneExports } from './retention.js';

export interface ExportFileInput {
  name: string;
  content: string | Uint8Array;
}

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
  for (const f of o.files) files.push(await writeFileAtomic(o.dir, f.name, f.content, { noReplace: o.noReplace }));
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
