/**
 * The bins exist in the tree: after an install of a fresh clone (no dist/ yet), npm links
 * `clockwatch-agent` and `clockwatch-collector` to packages/<name>/bin/, so `npx` runs the checkout
 * (and says to build it) instead of fetching a package of the same name from a registry.
 *
 * A fresh `git clone` of this repository's HEAD into a temp dir; node_modules is copied from this
 * checkout without the workspace links and bin links (what a clone has before npm links the
 * workspaces), then `npm install --offline --ignore-scripts` lets npm's own reify step create them.
 * The registry is pointed at a closed loopback port, so any fall back to it fails loudly.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../agent/helpers/paths.js';

// A copy of node_modules and an npm install: more than the default per-file timeout on two cores.
t.setTimeout(600_000);

const CLOSED_REGISTRY = 'http://127.0.0.1:9/';

function npx(cwd: string, args: string[]) {
  const r = spawnSync('npx', args, {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', npm_config_registry: CLOSED_REGISTRY, npm_config_yes: 'true', npm_config_update_notifier: 'false' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('npx clockwatch-agent / clockwatch-collector from a fresh clone, before and after the build', async (t) => {
  const dir = t.testdir();
  const clone = path.join(dir, 'clone');
  const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '--quiet', '--no-checkout', repoRoot, clone]);
  execFileSync('git', ['-C', clone, 'checkout', '--quiet', head]);
  t.notOk(existsSync(path.join(clone, 'packages/agent/dist')), 'the clone has no dist/');

  // node_modules of this checkout, minus what npm creates for the workspaces.
  execFileSync('cp', ['-a', path.join(repoRoot, 'node_modules'), path.join(clone, 'node_modules')]);
  const nm = path.join(clone, 'node_modules');
  rmSync(path.join(nm, '@clockwatch'), { recursive: true, force: true });
  for (const bin of ['clockwatch-agent', 'clockwatch-collector']) rmSync(path.join(nm, '.bin', bin), { force: true });
  const hidden = path.join(nm, '.package-lock.json');
  if (existsSync(hidden)) {
    const lock = JSON.parse(readFileSync(hidden, 'utf8')) as { packages: Record<string, unknown> };
    for (const k of Object.keys(lock.packages)) if (k.startsWith('node_modules/@clockwatch/') || k.startsWith('packages/')) delete lock.packages[k];
    writeFileSync(hidden, JSON.stringify(lock, null, 2));
  }
  const inst = spawnSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: clone,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, npm_config_registry: CLOSED_REGISTRY },
  });
  t.equal(inst.status, 0, `npm install --offline links the workspaces: ${inst.stderr.slice(-2000)}`);

  for (const name of ['clockwatch-agent', 'clockwatch-collector']) {
    const short = name.replace('clockwatch-', '');
    const r = npx(clone, [name, '--version']);
    t.equal(r.code, 2, `${name} before the build: exit 2`);
    t.equal(r.stderr, `${name}: not built yet (packages/${short}/dist/cli.js is missing): run \`npm run build\` at the repository root\n`, `${name}: one line saying to build`);
    t.notMatch(r.stderr, /ECONNREFUSED|127\.0\.0\.1:9/, `${name}: no registry request`);
  }

  // The build's output, as `npm run build` leaves it (copied from this checkout, which `npm test`
  // has just built: a second tsc -b of the clone would cost minutes on two cores).
  for (const p of ['shared', 'agent', 'collector']) execFileSync('cp', ['-a', path.join(repoRoot, 'packages', p, 'dist'), path.join(clone, 'packages', p, 'dist')]);
  const agent = npx(clone, ['clockwatch-agent', '--version']);
  t.equal(agent.code, 0, agent.stderr);
  t.match(agent.stdout, /^clockwatch-agent \d+\.\d+\.\d+\n$/);
  const collector = npx(clone, ['clockwatch-collector', '--version']);
  t.equal(collector.code, 0, collector.stderr);
  t.match(collector.stdout, /^\d+\.\d+\.\d+\n$/);
  // A flag reaches the program through the bin: --print from the agent (no network).
  const print = npx(clone, ['clockwatch-agent', '--print', '--id', 'bin-test', '--root', path.join(repoRoot, 'test/fixtures/roots/kvm-guest'), '--replay', path.join(repoRoot, 'test/fixtures/commands/chrony-synced')]);
  t.equal(print.code, 0, print.stderr);
  t.match(JSON.parse(print.stdout), { agent: { id: 'bin-test' }, clocksource: { current: 'kvm-clock' } });
});
