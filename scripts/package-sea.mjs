// The agent as a Node single executable application (SEA): one ELF file that carries its own
// Node, so guests need no Node runtime. How (Node 20's documented recipe, doc/api/single-executable-applications.md):
//   1. bundle dist/cli.js into ONE CommonJS script (Node 20's SEA runs a CommonJS main only, and its
//      require() reaches built-in modules only, so everything else must be inside the bundle);
//   2. `node --experimental-sea-config sea-config.json` turns it into a preparation blob;
//   3. copy the running node binary and inject the blob as the NODE_SEA_BLOB note with postject,
//      flipping the sentinel fuse that tells node to run the blob instead of parsing its own flags.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
// The fuse string Node's own build looks for (src/node_sea.cc, SEA_SENTINEL); postject's docs use the same.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Refuses native addons: an addon (.node) cannot live inside a SEA blob on Node 20 (it would have
 * to be written to disk and dlopen()ed), so a dependency that grows one must fail the build, not
 * the guest at run time. undici and typebox are pure JavaScript (undici's HTTP parser is WebAssembly
 * embedded in its JS).
 */
const noNativeAddons = {
  name: 'no-native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({
      errors: [{ text: `native addon ${args.path} (from ${args.importer}) cannot go into the single executable` }],
    }));
  },
};

/** Bundles the agent's compiled CLI into one CommonJS file; returns its path and size. */
export async function bundleAgentCjs({ root, outfile }) {
  const entry = path.join(root, 'packages/agent/dist/cli.js');
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [noNativeAddons],
  });
  const inputs = Object.keys(result.metafile.inputs);
  const addon = inputs.find((f) => f.endsWith('.node'));
  if (addon) throw new Error(`native addon in the agent bundle: ${addon}`);
  return { file: outfile, bytes: statSync(outfile).size, inputs: inputs.length };
}

/**
 * Builds the single executable from `cjsFile` with the node binary `nodeBinary` (default: the one
 * running this script, which must be an official-style static build carrying the SEA fuse).
 */
export function buildSea({ cjsFile, workDir, outFile, nodeBinary = process.execPath }) {
  mkdirSync(workDir, { recursive: true });
  const nodeBytes = readFileSync(nodeBinary);
  if (!nodeBytes.includes(SEA_FUSE)) {
    throw new Error(`${nodeBinary} has no SEA fuse (a node built with a shared libnode, or older than 20): use an official Node 20 build`);
  }
  const blob = path.join(workDir, 'sea-prep.blob');
  const seaConfig = path.join(workDir, 'sea-config.json');
  // disableExperimentalSEAWarning: the agent's stderr is its log; the warning would be noise in
  // every journal line of a start.
  writeFileSync(seaConfig, `${JSON.stringify({ main: cjsFile, output: blob, disableExperimentalSEAWarning: true }, null, 2)}\n`);
  quiet(nodeBinary, ['--experimental-sea-config', seaConfig]);
  copyFileSync(nodeBinary, outFile);
  chmodSync(outFile, 0o755);
  const postjectCli = require.resolve('postject/dist/cli.js');
  quiet(process.execPath, [postjectCli, outFile, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  return { file: outFile, bytes: statSync(outFile).size };
}

/**
 * Runs a build step with its output kept (LIEF, inside postject, warns about the unnamed note
 * section it adds, once per section); the output is shown only when the step fails.
 */
function quiet(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}

/**
 * The newest glibc symbol version the executable references (objdump -T lists the dynamic symbols
 * with their version, e.g. `GLIBC_2.28`): the oldest glibc the guest may have. null without objdump.
 */
export function glibcFloor(file) {
  let text;
  try {
    // stderr ignored: objdump warns about the unnamed note section postject adds.
    text = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
  return maxGlibcVersion(text);
}

/** Pure part of glibcFloor: the largest GLIBC_x.y[.z] in objdump -T / readelf -V text. */
export function maxGlibcVersion(text) {
  let best = null;
  for (const m of text.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)) {
    const v = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    if (!best || v[0] > best[0] || (v[0] === best[0] && (v[1] > best[1] || (v[1] === best[1] && v[2] > best[2])))) best = v;
  }
  return best ? `${best[0]}.${best[1]}${best[2] ? `.${best[2]}` : ''}` : null;
}
