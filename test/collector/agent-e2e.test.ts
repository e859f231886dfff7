/**
 * The real agent (packages/agent/dist/cli.js --once) reporting a fixture guest into a real
 * collector over HTTP, then the API queried. The rtc-localtime guest keeps its RTC in Asia/Shanghai
 * local time: it must come back noncompliant with the rtc reason naming local time and the fix.
 *
 * The fixture's RTC is a file (sysfs since_epoch); it is rewritten to "now + 8 h" in a copy of the
 * tree, as a real RTC in local time would read now.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appWith, repoRoot, sampleCount } from './helpers.js';

const agentCli = join(repoRoot, 'packages', 'agent', 'dist', 'cli.js');
const fixtureRoot = join(repoRoot, 'test', 'fixtures', 'roots', 'rtc-localtime');

function runAgent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [agentCli, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('the real agent reports the RTC-in-local-time guest', { skip: !existsSync(agentCli) || !existsSync(fixtureRoot) ? 'agent CLI or fixture root not built' : false }, async (t) => {
  const dir = t.testdir();
  const root = join(dir, 'root');
  cpSync(fixtureRoot, root, { recursive: true, verbatimSymlinks: true });
  const { app, store, close } = await appWith({ dbPath: join(dir, 'collector.db') });
  t.teardown(close);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  // The fixture's RTC is a file that does not tick: written just before the agent runs, it reads
  // "now + 8 h" minus however long the agent takes to read it, which the bracket below allows for.
  const rtcNowS = Math.floor(Date.now() / 1000) + 8 * 3600;
  writeFileSync(join(root, 'sys', 'class', 'rtc', 'rtc0', 'since_epoch'), `${rtcNowS}\n`);
  const iso = new Date(rtcNowS * 1000).toISOString();
  writeFileSync(join(root, 'sys', 'class', 'rtc', 'rtc0', 'date'), `${iso.slice(0, 10)}\n`);
  writeFileSync(join(root, 'sys', 'class', 'rtc', 'rtc0', 'time'), `${iso.slice(11, 19)}\n`);
  const startedS = Date.now() / 1000;
  const r = await runAgent(['--once', '--root', root, '--collector', url, '--spool', join(dir, 'spool'), '--log-level', 'warn']);
  t.equal(r.code, 0, `agent --once exit 0: ${r.stderr.slice(0, 500)}`);
  t.equal(sampleCount(store), 1, 'one report stored');

  const list = (await app.inject({ method: 'GET', url: '/v1/agents' })).json() as { agents: { id: string; hostname: string; status: string; offsetMs: number; uncertaintyMs: number; rtcOffsetS: number; timezone: string }[] };
  t.equal(list.agents.length, 1);
  const a = list.agents[0]!;
  t.equal(a.hostname, 'shanghai-app-07');
  t.equal(a.status, 'noncompliant');
  t.equal(a.timezone, 'Asia/Shanghai');
  const endedS = Date.now() / 1000;
  // Read somewhere between the agent's start and its end: rtcNowS − then, ±1 s of RTC resolution.
  t.ok(a.rtcOffsetS <= rtcNowS - startedS + 1 && a.rtcOffsetS >= rtcNowS - endedS - 1, `rtcOffsetS ${a.rtcOffsetS} ≈ +28800 (read while the agent ran)`);
  t.ok(Math.abs(a.offsetMs) <= a.uncertaintyMs + 0.5, `a real exchange: offset ${a.offsetMs} ms ±${a.uncertaintyMs} ms (same OS clock)`);

  const detail = (await app.inject({ method: 'GET', url: `/v1/agents/${a.id}` })).json() as { verdict: { checks: { id: string; status: string; reason: string }[] } };
  const rtc = detail.verdict.checks.find((c) => c.id === 'rtc');
  t.equal(rtc?.status, 'fail');
  t.match(rtc?.reason, /local time/);
  t.match(rtc?.reason, /<clock offset='utc'>/);

  // Run again with the same spool: a new report, stored once; nothing left in the spool.
  const again = await runAgent(['--once', '--root', root, '--collector', url, '--spool', join(dir, 'spool'), '--log-level', 'warn']);
  t.equal(again.code, 0);
  t.equal(sampleCount(store), 2);
  const hist = (await app.inject({ method: 'GET', url: `/v1/agents/${a.id}/history` })).json() as { points: { seq: number }[] };
  t.equal(hist.points.length, 2);
  t.ok(hist.points[1]!.seq > hist.points[0]!.seq, 'in order');
});
