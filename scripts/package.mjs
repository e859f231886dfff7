#!/usr/bin/env node
// `npm run package`: the agent for guests without Node. Writes into dist-pkg/ (or --out DIR):
//   clockwatch-agent-linux-<arch>           the single executable (Node SEA, scripts/package-sea.mjs)
//   clockwatch-agent_<v>_<arch>.deb         dpkg-deb        } executable, systemd unit, sysusers file,
//   clockwatch-agent-<v>-1.<arch>.rpm       rpmbuild        } example config (scripts/package-os.mjs)
//   clockwatch-agent-<v>-linux-<arch>.tar.gz the same tree
//   SHA256SUMS, package-info.json           sizes, the glibc floor, checksums
// Options: --out DIR, --only sea,deb,rpm,tar (the executable is always built), --compress fast|best.
// Builds from the compiled TypeScript (runs `tsc -b` first unless --no-build).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentVersion, archNames, buildDeb, buildRpm, buildTar, stageTree } from './package-os.mjs';
import { buildSea, bundleAgentCjs, glibcFloor } from './package-sea.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { out: path.join(root, 'dist-pkg'), only: ['sea', 'deb', 'rpm', 'tar'], compress: 'best', build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: needs a value`);
      return v;
    };
    if (a === '--out') opts.out = path.resolve(value());
    else if (a === '--only') opts.only = value().split(',');
    else if (a === '--compress') opts.compress = value();
    else if (a === '--no-build') opts.build = false;
    else throw new Error(`unknown option ${a}`);
  }
  for (const o of opts.only) if (!['sea', 'deb', 'rpm', 'tar'].includes(o)) throw new Error(`--only: unknown part '${o}'`);
  if (!['fast', 'best'].includes(opts.compress)) throw new Error(`--compress: expected fast or best, got '${opts.compress}'`);
  return opts;
}

function need(tool, pkg) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is missing: apt-get install ${pkg}`);
  }
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.only.includes('deb')) need('dpkg-deb', 'dpkg-dev');
  if (opts.only.includes('rpm')) need('rpmbuild', 'rpm');
  if (opts.build) execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
  if (!existsSync(path.join(root, 'packages/agent/dist/cli.js'))) throw new Error('packages/agent/dist/cli.js is missing: run npm run build');

  const version = agentVersion(root);
  const work = path.join(opts.out, '.work');
  rmSync(opts.out, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  const cjs = await bundleAgentCjs({ root, outfile: path.join(work, 'clockwatch-agent.cjs') });
  const exe = path.join(opts.out, `clockwatch-agent-linux-${archNames().tar}`);
  const sea = buildSea({ cjsFile: cjs.file, workDir: work, outFile: exe });
  const glibc = glibcFloor(exe);
  if (!glibc) throw new Error('objdump found no GLIBC_ symbol versions in the executable (binutils missing?)');

  const outputs = [exe];
  const parts = opts.only.filter((p) => p !== 'sea');
  if (parts.length > 0) {
    const stage = stageTree({ root, executable: exe, stageDir: path.join(work, 'stage') });
    if (parts.includes('deb')) outputs.push(buildDeb({ stageDir: stage, workDir: work, outDir: opts.out, version, glibc, compress: opts.compress }));
    if (parts.includes('rpm')) outputs.push(buildRpm({ stageDir: stage, workDir: work, outDir: opts.out, version, compress: opts.compress }));
    if (parts.includes('tar')) outputs.push(buildTar({ stageDir: stage, outDir: opts.out, version }));
  }
  rmSync(work, { recursive: true, force: true });

  const files = outputs.map((f) => ({ file: path.basename(f), bytes: statSync(f).size, sha256: sha256(f) }));
  writeFileSync(path.join(opts.out, 'SHA256SUMS'), files.map((f) => `${f.sha256}  ${f.file}\n`).join(''));
  const info = { version, node: process.version, arch: process.arch, glibcFloor: glibc, bundleBytes: cjs.bytes, executableBytes: sea.bytes, files };
  writeFileSync(path.join(opts.out, 'package-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  console.log(`package: clockwatch-agent ${version} (node ${process.version}, needs glibc >= ${glibc}) in ${path.relative(process.cwd(), opts.out) || opts.out}`);
  for (const f of files) console.log(`  ${f.file.padEnd(44)} ${mib(f.bytes).padStart(10)}`);
}

main().catch((err) => {
  console.error(`package: ${err.message}`);
  process.exitCode = 1;
});
