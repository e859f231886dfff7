/**
 * The export manifest: what it holds, its optional Ed25519 signature, and the check that a set of
 * export files is complete and unchanged (`clockwatch-collector verify MANIFEST`). Writing an export
 * is write-export.ts (files atomically via atomic-write.ts, manifest last); listing, downloads and
 * retention are retention.ts.
 *
 * Layout in the export directory, for an export named `clockwatch-20261124T000000Z-20261125T000000Z`:
 *   <name>.csv, <name>.json, <name>.html   the files (whatever the caller passes)
 *   <name>.manifest.json                   the manifest, written last
 *
 * Every file is written to a temporary name in the same directory, fsync'ed, renamed over the final
 * name, and the directory is fsync'ed: a reader or a crash sees the old file or the new one, never
 * half of one. The manifest comes last, so a manifest on disk only names complete files.
 *
 * Signature: when a signing key is configured, the manifest carries
 *   "signature": { "algorithm": "ed25519", "keyId": "sha256:<hex of the public key's SPKI DER>", "value": "<base64>" }
 * where value = Ed25519 over the UTF-8 bytes of
 *   "clockwatch-export-manifest-v1\n" + manifestCanonicalJson(manifest without "signature")
 * manifestCanonicalJson: object keys sorted by UTF-16 code unit, no whitespace, JSON.stringify for values.
 * The prefix keeps a signature made for a manifest from being valid for anything else signed with
 * the same key. The manifest file itself is pretty-printed; only its values are signed.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ClockwatchError, ErrorCodes } from '@clockwatch/shared';
import { SAFE_FILE_NAME, type ManifestFile } from './atomic-write.js';
import type { ExportPeriod } from './model.js';
import { isoUtc } from './model.js';

export const MANIFEST_FORMAT = 'clockwatch-export-manifest';
export const MANIFEST_VERSION = 1;
export const MANIFEST_SUFFIX = '.manifest.json';
const SIGNING_CONTEXT = 'clockwatch-export-manifest-v1\n';

export interface ManifestSignature {
  algorithm: 'ed25519';
  keyId: string;
  value: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** The export's name: the common stem of its files. */
  name: string;
  period: { fromMs: number; toMs: number; from: string; to: string };
  generatedAtMs: number;
  generatedAt: string;
  /** 'scheduled' (immutable, in --export-dir) or 'manual' (POST /v1/exports, in --export-dir/manual); absent in older manifests. */
  kind?: 'scheduled' | 'manual';
  files: ManifestFile[];
  signature?: ManifestSignature;
}

const compactIso = (ms: number) => isoUtc(ms).replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

/** `clockwatch-20261124T000000Z-20261125T000000Z`: sorts by period start, names the period. */
export function exportBaseName(period: ExportPeriod, prefix = 'clockwatch'): string {
  return `${prefix}-${compactIso(period.fromMs)}-${compactIso(period.toMs)}`;
}

/** Deterministic JSON: sorted keys, no whitespace. Throws on values JSON cannot state exactly. */
export function manifestCanonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('manifestCanonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(manifestCanonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${manifestCanonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`manifestCanonicalJson: cannot encode ${typeof value}`);
}

/** The bytes the signature covers. */
export function manifestSigningBytes(manifest: Manifest): Buffer {
  const { signature: _ignored, ...body } = manifest;
  return Buffer.from(SIGNING_CONTEXT + manifestCanonicalJson(body), 'utf8');
}

/** Loads an Ed25519 private key (PEM, PKCS#8 — `openssl genpkey -algorithm ed25519`). */
export function loadSigningKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export signing key is not a PEM private key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `export signing key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

/** Loads the key that checks signatures: an Ed25519 public key PEM (a private key PEM works too). */
export function loadVerifyKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `verification key is not a PEM key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `verification key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

/** `sha256:<hex>` of the public key's SPKI DER: names the key without revealing anything. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

export function signManifest(manifest: Manifest, privateKey: KeyObject): Manifest {
  const { signature: _old, ...body } = manifest;
  const value = sign(null, manifestSigningBytes(body as Manifest), privateKey).toString('base64');
  return { ...body, signature: { algorithm: 'ed25519', keyId: keyIdOf(privateKey), value } } as Manifest;
}

/** Structural check of a parsed manifest; returns what is wrong. */
export function manifestShapeProblems(v: unknown): string[] {
  const p: string[] = [];
  const m = v as Partial<Manifest> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return ['the manifest is not a JSON object'];
  if (m.format !== MANIFEST_FORMAT) p.push(`format is not '${MANIFEST_FORMAT}'`);
  if (m.version !== MANIFEST_VERSION) p.push(`version ${JSON.stringify(m.version)} is not ${MANIFEST_VERSION}`);
  if (typeof m.name !== 'string') p.push('name is missing');
  if (typeof m.generatedAtMs !== 'number') p.push('generatedAtMs is missing');
  if (!m.period || typeof m.period.fromMs !== 'number' || typeof m.period.toMs !== 'number') p.push('period is missing');
  if (!Array.isArray(m.files)) p.push('files is not a list');
  else
    m.files.forEach((f, i) => {
      if (typeof f?.name !== 'string' || typeof f.bytes !== 'number' || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) p.push(`files[${i}] needs name, bytes and a hex sha256`);
    });
  if (m.signature !== undefined) {
    const s = m.signature;
    if (s?.algorithm !== 'ed25519' || typeof s.value !== 'string' || typeof s.keyId !== 'string') p.push('signature needs algorithm ed25519, keyId and value');
  }
  return p;
}

export type VerifyProblemCode =
  | 'manifest-unreadable'
  | 'manifest-invalid'
  | 'bad-file-name'
  | 'file-missing'
  | 'file-unreadable'
  | 'size-mismatch'
  | 'hash-mismatch'
  | 'signature-missing'
  | 'signature-invalid';

export interface VerifyProblem {
  code: VerifyProblemCode;
  file?: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  manifest: Manifest | null;
  files: { name: string; ok: boolean }[];
  /** valid / invalid with a key given; absent when unsigned; not-checked when signed but no key was given. */
  signature: 'valid' | 'invalid' | 'absent' | 'not-checked';
  problems: VerifyProblem[];
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Checks an export: every file the manifest lists exists beside it with the listed size and
 * SHA-256, and, when a public key is given, the signature is present and valid for that key.
 */
export async function verifyManifest(manifestPath: string, publicKey?: KeyObject | string | Buffer | null): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  const result: VerifyResult = { ok: false, manifest: null, files: [], signature: 'absent', problems };
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch (e) {
    problems.push({ code: 'manifest-unreadable', message: `${manifestPath}: ${(e as Error).message}` });
    return result;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    problems.push({ code: 'manifest-invalid', message: `${manifestPath}: not JSON: ${(e as Error).message}` });
    return result;
  }
  const shape = manifestShapeProblems(parsed);
  if (shape.length > 0) {
    problems.push(...shape.map((m) => ({ code: 'manifest-invalid' as const, message: `${manifestPath}: ${m}` })));
    return result;
  }
  const manifest = parsed as Manifest;
  result.manifest = manifest;
  const dir = dirname(manifestPath);
  for (const f of manifest.files) {
    const fail = (code: VerifyProblemCode, message: string) => {
      problems.push({ code, file: f.name, message: `${f.name}: ${message}` });
      result.files.push({ name: f.name, ok: false });
    };
    if (!SAFE_FILE_NAME.test(f.name)) {
      fail('bad-file-name', 'not a plain file name beside the manifest');
      continue;
    }
    const path = join(dir, f.name);
    try {
      const st = await stat(path);
      if (st.size !== f.bytes) {
        fail('size-mismatch', `${st.size} bytes, the manifest says ${f.bytes}`);
        continue;
      }
      const digest = await sha256File(path);
      if (digest !== f.sha256) {
        fail('hash-mismatch', `SHA-256 ${digest}, the manifest says ${f.sha256}`);
        continue;
      }
      result.files.push({ name: f.name, ok: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fail(code === 'ENOENT' ? 'file-missing' : 'file-unreadable', code === 'ENOENT' ? 'missing' : (e as Error).message);
    }
  }
  if (manifest.signature) result.signature = 'not-checked';
  if (publicKey) {
    const key = typeof publicKey === 'string' || Buffer.isBuffer(publicKey) ? loadVerifyKey(publicKey) : publicKey;
    if (!manifest.signature) {
      problems.push({ code: 'signature-missing', message: `${basename(manifestPath)} is not signed, and a public key was given` });
    } else {
      let good = false;
      try {
        good = verify(null, manifestSigningBytes(manifest), key, Buffer.from(manifest.signature.value, 'base64'));
      } catch {
        good = false;
      }
      result.signature = good ? 'valid' : 'invalid';
      if (!good) {
        const other = manifest.signature.keyId !== keyIdOf(key) ? ` (signed by ${manifest.signature.keyId}, checked with ${keyIdOf(key)})` : ' (the manifest was changed after signing, or the signature is corrupt)';
        problems.push({ code: 'signature-invalid', message: `signature of ${basename(manifestPath)} does not verify${other}` });
      }
    }
  }
  result.ok = problems.length === 0;
  return result;
}
