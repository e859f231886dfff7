/**
 * `clockwatch-collector verify MANIFEST [--public-key FILE]`: checks that every file the manifest
 * lists is beside it with the listed size and SHA-256 and, with a key, that the manifest's Ed25519
 * signature is valid for it. Prints one line per file and per problem; exit 0 only when nothing is
 * wrong, 1 when something is, 2 for a usage error.
 */
import { loadVerifyKey, verifyManifest } from '../exports/manifest.js';
import { ConfigError, helpText, nonEmpty, parseOptions, type OptionSpec } from '../options.js';
import { readFileOr } from './common.js';
import type { Command } from './types.js';

const OPTIONS: readonly OptionSpec[] = [
  { key: 'publicKey', flag: 'public-key', arg: 'FILE', help: 'Ed25519 public key (PEM; a private key works too): the signature must be valid for it', parse: nonEmpty },
  { key: 'json', flag: 'json', help: 'print the result as JSON', boolean: true, parse: (t) => t !== 'false' },
];

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify MANIFEST [--public-key F]: check an export against its manifest',
  async run(io) {
    if (io.argv.includes('--help') || io.argv.includes('-h')) {
      io.out(helpText('usage: clockwatch-collector verify MANIFEST [--public-key FILE]', OPTIONS));
      return 0;
    }
    const { values: v, sources, positionals } = parseOptions(OPTIONS, io.argv, io.env);
    if (positionals.length !== 1) throw new ConfigError(`expected one manifest file${positionals.length > 1 ? `, got ${positionals.length}` : ''} (usage: verify MANIFEST [--public-key FILE])`);
    const manifestPath = positionals[0] as string;
    let key = null;
    if (v.publicKey) {
      try {
        key = loadVerifyKey(readFileOr(sources.publicKey ?? '--public-key', v.publicKey as string));
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(`${sources.publicKey}: ${(err as Error).message}`);
      }
    }
    const r = await verifyManifest(manifestPath, key);
    if (v.json) {
      io.out(`${JSON.stringify({ ok: r.ok, manifest: manifestPath, files: r.files, signature: r.signature, problems: r.problems }, null, 2)}\n`);
      return r.ok ? 0 : 1;
    }
    const bad = new Set(r.problems.map((p) => p.file).filter(Boolean));
    for (const f of r.files) if (!bad.has(f.name)) io.out(`ok       ${f.name}\n`);
    for (const p of r.problems) io.err(`PROBLEM  ${p.message} [${p.code}]\n`);
    const sig =
      r.signature === 'valid'
        ? `signature valid (${r.manifest?.signature?.keyId})`
        : r.signature === 'not-checked'
          ? `signed by ${r.manifest?.signature?.keyId}; signature not checked (give --public-key)`
          : r.signature === 'absent'
            ? 'not signed'
            : 'signature INVALID';
    if (r.manifest) io.out(`${r.ok ? 'OK' : 'FAILED'}: ${r.files.filter((f) => f.ok).length}/${r.manifest.files.length} files match ${manifestPath}; ${sig}\n`);
    else io.out(`FAILED: ${manifestPath} could not be read as a manifest\n`);
    return r.ok ? 0 : 1;
  },
};
