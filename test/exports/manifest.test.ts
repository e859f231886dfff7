/**
 * Export files on disk: atomic writes, the manifest and its Ed25519 signature, verify (which must
 * fail on one changed byte, a missing file, an edited manifest, a wrong key), and retention.
 */
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  manifestCanonicalJson,
  exportBaseName,
  findExportFile,
  keyIdOf,
  listExports,
  loadSigningKey,
  pruneExports,
  renderCsv,
  renderHtml,
  renderJson,
  verifyManifest,
  writeExport,
  writeFileAtomic,
  type Manifest,
} from '@clockwatch/collector/exports';
import { DAY_FROM, DAY_TO, dayOfData } from './data.js';

const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, pub: publicKey.export({ type: 'spki', format: 'pem' }) as string };
};
const K = keys();
const OTHER = keys();

async function oneExport(dir: string, opts: { signed?: boolean; from?: number; keep?: number; generatedAtMs?: number } = {}) {
  const data = dayOfData();
  const period = { fromMs: opts.from ?? DAY_FROM, toMs: (opts.from ?? DAY_FROM) + 86_400_000 };
  const name = exportBaseName(period);
  return writeExport({
    dir,
    period,
    generatedAtMs: opts.generatedAtMs ?? period.toMs + 30_000,
    files: [
      { name: `${name}.csv`, content: renderCsv(data) },
      { name: `${name}.json`, content: renderJson(data) },
      { name: `${name}.html`, content: renderHtml(data) },
    ],
    signingKey: opts.signed === false ? null : K.priv,
    keep: opts.keep ?? null,
  });
}

t.test('names and layout', async (t) => {
  t.equal(exportBaseName({ fromMs: DAY_FROM, toMs: DAY_TO }), 'clockwatch-20261124T000000Z-20261125T000000Z');
  const dir = t.testdir({});
  const r = await oneExport(dir);
  t.same(readdirSync(dir).sort(), [
    'clockwatch-20261124T000000Z-20261125T000000Z.csv',
    'clockwatch-20261124T000000Z-20261125T000000Z.html',
    'clockwatch-20261124T000000Z-20261125T000000Z.json',
    'clockwatch-20261124T000000Z-20261125T000000Z.manifest.json',
  ], 'no temporary file left behind');
  const m = JSON.parse(readFileSync(r.manifestPath, 'utf8')) as Manifest;
  t.same(m, r.manifest);
  t.match(m, { format: 'clockwatch-export-manifest', version: 1, name: 'clockwatch-20261124T000000Z-20261125T000000Z', period: { fromMs: DAY_FROM, toMs: DAY_TO, from: '2026-11-24T00:00:00.000Z' }, generatedAt: '2026-11-25T00:00:30.000Z' });
  t.equal(m.files.length, 3);
  for (const f of m.files) {
    const body = readFileSync(join(dir, f.name));
    t.equal(f.bytes, body.length, `${f.name} size`);
    t.match(f.sha256, /^[0-9a-f]{64}$/);
  }
  t.match(m.signature, { algorithm: 'ed25519', keyId: keyIdOf(loadSigningKey(K.priv)) });
});

t.test('verify passes on a fresh export, signed or not', async (t) => {
  const dir = t.testdir({});
  const r = await oneExport(dir);
  const v = await verifyManifest(r.manifestPath, K.pub);
  t.same(v.problems, []);
  t.equal(v.ok, true);
  t.equal(v.signature, 'valid');
  t.same(v.files.map((f) => f.ok), [true, true, true]);
  const noKey = await verifyManifest(r.manifestPath);
  t.equal(noKey.ok, true);
  t.equal(noKey.signature, 'not-checked', 'signed, but nothing to check it with');
  t.equal((await verifyManifest(r.manifestPath, K.priv)).signature, 'valid', 'a private key PEM works as the verification key');
  const dir2 = t.testdir({});
  const u = await oneExport(dir2, { signed: false });
  t.equal(u.manifest.signature, undefined);
  const vu = await verifyManifest(u.manifestPath);
  t.equal(vu.ok, true);
  t.equal(vu.signature, 'absent');
});

t.test('verify fails when one byte of one file changes', async (t) => {
  const dir = t.testdir({});
  const r = await oneExport(dir);
  const html = join(dir, `${r.manifest.name}.html`);
  const buf = readFileSync(html);
  const at = buf.indexOf('31.3 %');
  t.ok(at > 0);
  buf[at] = '9'.charCodeAt(0); // 31.3 % becomes 91.3 %: same size, one byte
  writeFileSync(html, buf);
  const v = await verifyManifest(r.manifestPath, K.pub);
  t.equal(v.ok, false);
  t.equal(v.signature, 'valid', 'the manifest itself is intact');
  t.match(v.problems, [{ code: 'hash-mismatch', file: `${r.manifest.name}.html` }]);
  t.equal(v.problems.length, 1);
  t.same(v.files.map((f) => f.ok), [true, true, false]);
});

t.test('verify fails on a grown file and a missing file', async (t) => {
  const dir = t.testdir({});
  const r = await oneExport(dir);
  appendFileSync(join(dir, `${r.manifest.name}.csv`), 'x');
  rmSync(join(dir, `${r.manifest.name}.json`));
  const v = await verifyManifest(r.manifestPath, K.pub);
  t.equal(v.ok, false);
  t.match(v.problems, [
    { code: 'size-mismatch', file: `${r.manifest.name}.csv` },
    { code: 'file-missing', file: `${r.manifest.name}.json` },
  ]);
});

t.test('verify fails when the manifest is edited to match a changed file', async (t) => {
  const dir = t.testdir({});
  const r = await oneExport(dir);
  const csv = join(dir, `${r.manifest.name}.csv`);
  writeFileSync(csv, readFileSync(csv, 'utf8').replace('noncompliant', 'compliant!!!'));
  // Recompute the file's entry as a forger would.
  const forged = await writeFileAtomic(dir, 'scratch', readFileSync(csv));
  const m = JSON.parse(readFileSync(r.manifestPath, 'utf8')) as Manifest;
  m.files[0] = { ...m.files[0]!, bytes: forged.bytes, sha256: forged.sha256 };
  writeFileSync(r.manifestPath, JSON.stringify(m, null, 2));
  const v = await verifyManifest(r.manifestPath, K.pub);
  t.equal(v.ok, false);
  t.equal(v.signature, 'invalid');
  t.same(v.problems.map((p) => p.code), ['signature-invalid'], 'the files match the forged manifest; only the signature tells');
  t.match(v.problems[0]?.message, /changed after signing/);
  // Reformatting alone (whitespace, key order) does not break the signature: only values are signed.
  const dir2 = t.testdir({});
  const r2 = await oneExport(dir2);
  const m2 = JSON.parse(readFileSync(r2.manifestPath, 'utf8')) as Record<string, unknown>;
  const reordered = Object.fromEntries(Object.entries(m2).reverse());
  writeFileSync(r2.manifestPath, JSON.stringify(reordered));
  t.equal((await verifyManifest(r2.manifestPath, K.pub)).ok, true);
});

t.test('verify fails with the wrong key, a corrupt signature, or no signature', async (t) => {
  const dir = t.testdir({});
  const r = await oneExport(dir);
  const wrong = await verifyManifest(r.manifestPath, OTHER.pub);
  t.equal(wrong.ok, false);
  t.equal(wrong.signature, 'invalid');
  t.match(wrong.problems[0]?.message, /signed by sha256:[0-9a-f]{64}, checked with sha256:[0-9a-f]{64}/);
  const m = JSON.parse(readFileSync(r.manifestPath, 'utf8')) as Manifest;
  const sig = Buffer.from(m.signature!.value, 'base64');
  sig[5] = (sig[5] as number) ^ 1;
  writeFileSync(r.manifestPath, JSON.stringify({ ...m, signature: { ...m.signature, value: sig.toString('base64') } }));
  t.equal((await verifyManifest(r.manifestPath, K.pub)).signature, 'invalid');
  writeFileSync(r.manifestPath, JSON.stringify({ ...m, signature: { ...m.signature, value: 'not base64 at all!' } }));
  t.equal((await verifyManifest(r.manifestPath, K.pub)).ok, false);
  const dir2 = t.testdir({});
  const u = await oneExport(dir2, { signed: false });
  const vu = await verifyManifest(u.manifestPath, K.pub);
  t.equal(vu.ok, false);
  t.match(vu.problems, [{ code: 'signature-missing' }]);
});

t.test('verify refuses broken manifests and names that leave the directory', async (t) => {
  const dir = t.testdir({ 'a.manifest.json': '{nope', 'b.manifest.json': '{"format":"other"}', 'passwd': 'root:x:0:0' });
  t.match((await verifyManifest(join(dir, 'missing.manifest.json'))).problems, [{ code: 'manifest-unreadable' }]);
  t.match((await verifyManifest(join(dir, 'a.manifest.json'))).problems, [{ code: 'manifest-invalid', message: /not JSON/ }]);
  t.match((await verifyManifest(join(dir, 'b.manifest.json'))).problems, [{ code: 'manifest-invalid', message: /format/ }]);
  const r = await oneExport(t.testdir({}), { signed: false });
  const evil = { ...r.manifest, files: [{ name: '../passwd', bytes: 10, sha256: '0'.repeat(64) }] };
  writeFileSync(join(dir, 'c.manifest.json'), JSON.stringify(evil));
  t.match((await verifyManifest(join(dir, 'c.manifest.json'))).problems, [{ code: 'bad-file-name', file: '../passwd' }]);
});

t.test('retention keeps the newest N exports', async (t) => {
  const dir = t.testdir({ 'unrelated.txt': 'keep me' });
  const removedEach: string[][] = [];
  for (let d = 0; d < 5; d++) {
    const r = await oneExport(dir, { from: DAY_FROM + d * 86_400_000, keep: 3 });
    removedEach.push(r.removed);
  }
  const { exports } = await listExports(dir);
  t.same(exports.map((e) => e.manifest.period.fromMs), [DAY_FROM + 4 * 86_400_000, DAY_FROM + 3 * 86_400_000, DAY_FROM + 2 * 86_400_000], 'newest first, three kept');
  t.same(removedEach.map((r) => r.length), [0, 0, 0, 4, 4], 'each pruned export: manifest and three files');
  const left = readdirSync(dir).sort();
  t.equal(left.length, 3 * 4 + 1);
  t.ok(left.includes('unrelated.txt'), 'files that belong to no export are left alone');
  t.notOk(left.some((n) => n.includes('20261124T')), 'the oldest are gone');
  for (const e of exports) t.equal((await verifyManifest(join(dir, e.manifestName), K.pub)).ok, true, 'kept exports still verify');
  await t.rejects(pruneExports(dir, 0), { code: 'CW_ERR_CONFIG_INVALID' });
});

t.test('retention: an export re-run for the same period replaces it; stale temp files go', async (t) => {
  const dir = t.testdir({});
  await oneExport(dir, { generatedAtMs: DAY_TO + 1000 });
  await oneExport(dir, { generatedAtMs: DAY_TO + 2000 });
  t.equal((await listExports(dir)).exports.length, 1, 'same names: replaced atomically');
  writeFileSync(join(dir, '.x.csv.0123456789ab.tmp'), 'half');
  const old = (DAY_TO - 7_200_000) / 1000;
  utimesSync(join(dir, '.x.csv.0123456789ab.tmp'), old, old);
  writeFileSync(join(dir, '.y.csv.0123456789ab.tmp'), 'in progress');
  const { removed } = await pruneExports(dir, 5, Date.now());
  t.same(removed, ['.x.csv.0123456789ab.tmp']);
});

t.test('downloads: only files that belong to an export', async (t) => {
  const dir = t.testdir({ 'secret.txt': 'x' });
  const r = await oneExport(dir);
  t.equal(await findExportFile(dir, `${r.manifest.name}.csv`), join(dir, `${r.manifest.name}.csv`));
  t.equal(await findExportFile(dir, `${r.manifest.name}.manifest.json`), r.manifestPath);
  t.equal(await findExportFile(dir, 'secret.txt'), null);
  t.equal(await findExportFile(dir, '../etc/passwd'), null);
  t.equal(await findExportFile(dir, '.hidden'), null);
  t.same(await listExports(join(dir, 'nope')), { exports: [], errors: [] });
});

t.test('atomic write: temp name in the same directory, nothing left on failure', async (t) => {
  const dir = t.testdir({});
  const f = await writeFileAtomic(dir, 'a.txt', 'hello');
  t.same(f, { name: 'a.txt', bytes: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' });
  await t.rejects(writeFileAtomic(join(dir, 'missing-dir'), 'b.txt', 'x'), { code: 'ENOENT' });
  await t.rejects(writeFileAtomic(dir, '../b.txt', 'x'), { code: 'CW_ERR_CONFIG_INVALID' });
  t.same(readdirSync(dir), ['a.txt']);
  await t.rejects(
    writeExport({ dir, period: { fromMs: DAY_FROM, toMs: DAY_TO }, generatedAtMs: DAY_TO, files: [{ name: 'x.csv', content: '' }, { name: 'x.csv', content: '' }] }),
    /given twice/,
  );
});

t.test('keys and canonical JSON', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  t.throws(() => loadSigningKey(rsa), { code: 'CW_ERR_CONFIG_INVALID', message: /must be Ed25519, not rsa/ });
  t.throws(() => loadSigningKey('garbage'), { code: 'CW_ERR_CONFIG_INVALID' });
  t.equal(manifestCanonicalJson({ b: 1, a: [true, null, 'x', { d: 0.5, c: undefined }] }), '{"a":[true,null,"x",{"d":0.5}],"b":1}');
  t.throws(() => manifestCanonicalJson({ a: Number.NaN }));
});
