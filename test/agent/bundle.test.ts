/**
 * `npm run bundle`: one .mjs that runs with plain `node` from a folder without node_modules (the
 * temporary directory has none above it either), as it is baked into VM images.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { validateReport, type Report } from '@clockwatch/shared';
import { AGENT_VERSION } from '@clockwatch/agent';
import { fixtureRoot, repoRoot } from './helpers/paths.js';
import { cleanEnv } from './helpers/run-cli.js';
import { startTestCollector } from './helpers/test-collector.js';
import { tmpdir } from './helpers/tmp.js';

const run = promisify(execFile);

t.test('the single-file bundle runs with plain node and no node_modules', async (t) => {
  const dir = tmpdir(t, 'cw-bundle-');
  const out = path.join(dir, 'clockwatch-agent.mjs');
  await run(process.execPath, [path.join(repoRoot, 'scripts/bundle-agent.mjs'), '--outfile', out], { cwd: repoRoot });
  t.ok(existsSync(out), 'bundle written');
  t.notOk(existsSync(path.join(dir, 'node_modules')));
  let up = path.dirname(dir);
  while (up !== path.dirname(up)) {
    t.notOk(existsSync(path.join(up, 'node_modules')), `no node_modules in ${up}`);
    up = path.dirname(up);
  }
  const text = readFileSync(out, 'utf8');
  t.match(text, /^#!\/usr\/bin\/env node\n/, 'shebang');
  t.notMatch(text, /from ?["'](undici|typebox|@clockwatch\/shared)["']/, 'no bare imports left');
  t.ok(statSync(out).mode & 0o100, 'executable');

  const env = cleanEnv();
  delete env.NODE_PATH;
  const version = await run(process.execPath, [out, '--version'], { cwd: dir, env });
  t.equal(version.stdout, `clockwatch-agent ${AGENT_VERSION}\n`);
  const print = await run(process.execPath, [out, '--print', '--root', fixtureRoot('kvm-guest')], { cwd: dir, env });
  const r = JSON.parse(print.stdout) as Report;
  t.ok(validateReport(r).ok, 'schema v1');
  t.match(r, { clocksource: { current: 'kvm-clock' }, timezone: { name: 'Europe/Berlin' } });

  // --once from the bundle: undici (loaded lazily) works inside the single file.
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const once = await run(process.execPath, [out, '--once', '--collector', c.url, '--spool', path.join(dir, 'spool'), '--root', fixtureRoot('no-rtc'), '--samples', '2'], { cwd: dir, env });
  t.match(JSON.parse(once.stdout), { accepted: true, stored: true });
  t.equal(c.stored.length, 1);
});
