#!/usr/bin/env node
// Bundles clockwatch-agent into one ESM file that runs with plain `node` and no node_modules:
// `npm run bundle` (from packages/agent or the root) → packages/agent/bundle/clockwatch-agent.mjs.
// Builds from the compiled dist/cli.js (run `tsc -b` first). `--outfile FILE` writes elsewhere
// (the tests bundle into a temporary directory).
import { build } from 'esbuild';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const agentDir = path.join(root, 'packages/agent');
const entry = path.join(agentDir, 'dist/cli.js');
const i = process.argv.indexOf('--outfile');
const outfile = i > 0 ? path.resolve(process.argv[i + 1]) : path.join(agentDir, 'bundle/clockwatch-agent.mjs');

if (!existsSync(entry)) {
  console.error(`bundle-agent: ${path.relative(root, entry)} is missing: run "npx tsc -b" first`);
  process.exit(1);
}
const { version } = JSON.parse(readFileSync(path.join(agentDir, 'package.json'), 'utf8'));

// @clockwatch/shared declares "sideEffects": false (it is pure), so esbuild leaves out what the
// agent does not call — among them the compiled report validator (typebox Compile at import:
// ~10 MB of RSS).
const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Smaller file, faster start on small VMs; names kept so stack traces stay readable.
  minify: true,
  keepNames: true,
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
  // undici (and typebox's deps) are CommonJS: inside an ESM bundle their require() of node
  // built-ins needs a real require.
  banner: { js: "import { createRequire as __cwCreateRequire } from 'node:module';\nconst require = __cwCreateRequire(import.meta.url);" },
});
chmodSync(outfile, 0o755);
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`bundle-agent: ${path.relative(process.cwd(), outfile) || outfile} (${(bytes / 1024).toFixed(0)} KiB, clockwatch-agent ${version})`);
