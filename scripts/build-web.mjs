#!/usr/bin/env node
/**
 * Builds the fleet page: packages/collector/web/src/main.ts and app.css bundled by esbuild into
 * packages/collector/dist/web/app-<hash>.js and app-<hash>.css, and web/index.html with those
 * names filled in. Type-checking is tsc -b's job (web/tsconfig.json is a project reference); this
 * only bundles. Prints the sizes (raw and gzip) so a change that bloats the page shows.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'packages', 'collector', 'web');
const out = join(root, 'packages', 'collector', 'dist', 'web');
const quiet = process.argv.includes('--quiet');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { app: join(web, 'src', 'main.ts'), style: join(web, 'src', 'app.css') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  outdir: out,
  entryNames: 'app-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild wrote ${files.join(', ')}: expected one .js and one .css`);
const html = readFileSync(join(web, 'index.html'), 'utf8').replace('{{JS}}', js).replace('{{CSS}}', css);
writeFileSync(join(out, 'index.html'), html);
if (!quiet) {
  let total = 0;
  let totalGz = 0;
  for (const f of readdirSync(out).sort()) {
    const body = readFileSync(join(out, f));
    const gz = gzipSync(body, { level: 9 }).length;
    total += body.length;
    totalGz += gz;
    console.log(`web: ${f.padEnd(24)} ${String(body.length).padStart(7)} B  (${gz} B gzip)`);
  }
  console.log(`web: total ${total} B (${totalGz} B gzip) in packages/collector/dist/web`);
}
