/** The CLI's modes as processes: option errors, --once against a real HTTP collector, the run-forever loop and SIGTERM. */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandsDir, fixtureRoot } from './helpers/paths.js';
import { cleanEnv, runCli, startCli } from './helpers/run-cli.js';
import { startTestCollector } from './helpers/test-collector.js';
import { tmpdir } from './helpers/tmp.js';

t.test('a bad value stops the agent with one line naming the option', async (t) => {
  for (const [args, env, option] of [
    [['--interval', 'abc'], {}, '--interval'],
    [['--print'], { CLOCKWATCH_INTERVAL: 'abc' }, 'CLOCKWATCH_INTERVAL'],
    [['--collector', 'ftp://nope', '--once'], {}, '--collector'],
    [['--print', '--listen', '127.0.0.1:0'], {}, '--listen'],
  ] as const) {
    const res = await runCli([...args], { env: cleanEnv({ ...env }) });
    t.not(res.code, 0, `${args.join(' ')}: non-zero exit`);
    t.equal(res.stdout, '');
    const lines = res.stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, `one line: ${res.stderr.trim()}`);
    t.match(lines[0], new RegExp(`^clockwatch-agent: ${option.replace(/[-]/g, '\\-')}: `));
  }
  const cfg = path.join(tmpdir(t), 'agent.json');
  writeFileSync(cfg, '{"interval": -1}');
  const res = await runCli(['--print', '--config', cfg]);
  t.equal(res.code, 2);
  t.match(res.stderr, /^clockwatch-agent: interval \(in .*agent\.json\): expected a number of seconds from 1 to 86400, got -1\n$/);
});

t.test('--once: verdict on stdout, exit 0 when accepted; token file as bearer', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  c.requireToken = 'tok-123';
  const dir = tmpdir(t);
  writeFileSync(path.join(dir, 'token'), 'tok-123\n');
  const res = await runCli(['--once', '--collector', c.url, '--token-file', path.join(dir, 'token'), '--spool', path.join(dir, 'spool'), '--root', fixtureRoot('kvm-guest'), '--replay', commandsDir('chrony-synced'), '--label', 'site=lab']);
  t.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout) as Record<string, unknown>;
  t.match(out, { accepted: true, stored: true, duplicate: false, agentId: '4f0b2a6a9c1e4d7b8e2f5a3c6d9e1b07', verdict: { status: 'unknown' } });
  t.equal(typeof out.offsetMs, 'number');
  t.same(c.authorization, ['Bearer tok-123']);
  t.match(c.stored[0], { agent: { labels: { site: 'lab' } }, timeProbe: { samples: [{}, {}, {}, {}, {}, {}] } });

  c.requireToken = 'other';
  const denied = await runCli(['--once', '--collector', c.url, '--token', 'tok-123', '--spool', path.join(dir, 'spool'), '--root', fixtureRoot('kvm-guest')]);
  t.equal(denied.code, 1, 'not accepted: non-zero');
  t.match(JSON.parse(denied.stdout), { accepted: false, spooled: true, error: { code: 'CW_ERR_AUTH' } });
});

t.test('run forever: reports every interval, SIGTERM finishes the cycle in flight', async (t) => {
  const c = await startTestCollector();
  t.teardown(() => c.close());
  const dir = tmpdir(t);
  const { child, done } = startCli(['--collector', c.url, '--interval', '1', '--spool', dir, '--root', fixtureRoot('no-rtc'), '--samples', '2']);
  t.teardown(() => child.kill('SIGKILL'));
  while (c.stored.length < 2) await new Promise((r) => setTimeout(r, 50));
  // Hold the next push: SIGTERM arrives while the report is in flight; it must still be delivered.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  c.onPush = async () => {
    c.onPush = null;
    child.kill('SIGTERM');
    setTimeout(release, 300);
    await held;
  };
  const res = await done;
  t.equal(res.code, 0, 'exit 0 after SIGTERM');
  t.match(res.stderr, /SIGTERM: finishing the cycle in flight/);
  t.match(res.stderr, /stopped/);
  t.same(c.stored.map((r) => r.seq), [1, 2, 3], 'the report in flight arrived');
  t.ok(c.stored.every((r) => r.agent.intervalS === 1));
});
