/**
 * The single executable agent (`npm run package`), run where no node exists: a private mount
 * namespace covers every directory that held a node with an empty tmpfs. It must print, report
 * once to a live collector (plain HTTP with a token, and HTTPS with a private CA), run its loop with
 * the pull endpoint and stop on SIGTERM, and take node's own flag names (--print, --version,
 * --help) as its own. Plus the tarball's layout and the glibc floor.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { repoRoot } from '../agent/helpers/paths.js';
import { runCli, serve } from '../integration/helpers.js';
import { buildPackages, missing, noNodeSkip, runWithoutNode, spawnWithoutNode, type Built } from './helpers.js';

t.setTimeout(600_000);
const skip = noNodeSkip() || missing('objdump', 'openssl');
const fixture = path.join(repoRoot, 'test/fixtures/roots/kvm-guest');
const replay = path.join(repoRoot, 'test/fixtures/commands/chrony-synced');

t.test('the single executable, with no node in reach', { skip }, async (t) => {
  const dir = t.testdir();
  let built: Built;
  try {
    built = buildPackages(path.join(dir, 'pkg'), ['sea', 'tar']);
  } catch (err) {
    t.fail((err as Error).message);
    return;
  }
  const exe = built.executable;

  t.test('glibc floor and size are measured from the file', async (t) => {
    // readelf -V lists the version needs (.gnu.version_r) the dynamic loader checks.
    const needs = execFileSync('readelf', ['-V', exe], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
    const versions = [...needs.matchAll(/GLIBC_(\d+\.\d+(?:\.\d+)?)/g)].map((m) => m[1] as string);
    const max = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
    t.equal(built.info.glibcFloor, max, 'package-info.json states the newest GLIBC_ version the file needs');
    t.equal(built.info.executableBytes, readFileSync(exe).length);
    t.comment(`executable ${(built.info.executableBytes / 1048576).toFixed(1)} MiB, needs glibc >= ${built.info.glibcFloor}`);
    const dyn = execFileSync('readelf', ['-d', exe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    t.notMatch(dyn, /libnode|libuv|libssl|libcrypto|libz\.so/, 'node, OpenSSL, libuv and zlib are inside the file');
  });

  t.test('node flag names are the agent\'s: --version, --help, --print', async (t) => {
    const v = await runWithoutNode(exe, ['--version']);
    t.equal(v.code, 0, v.stderr);
    t.equal(v.stdout, `clockwatch-agent ${built.info.version}\n`);
    const h = await runWithoutNode(exe, ['--help']);
    t.equal(h.code, 0, h.stderr);
    t.match(h.stdout, /^usage: clockwatch-agent /);
    const p = await runWithoutNode(exe, ['--print', '--id', 'sea-print', '--label', 'site=lab', '--root', fixture, '--replay', replay]);
    t.equal(p.code, 0, p.stderr);
    t.equal(p.stderr, '', 'no experimental warning, no log line');
    const report = JSON.parse(p.stdout) as Record<string, any>;
    t.match(report, { schemaVersion: 1, agent: { id: 'sea-print', labels: { site: 'lab' } }, clocksource: { current: 'kvm-clock' }, ntp: { daemon: 'chronyd', synchronized: true } });
    // The same report as the checkout's agent on node, field for field (but ids and clocks).
    const viaNode = spawnSync(process.execPath, [path.join(repoRoot, 'packages/agent/dist/cli.js'), '--print', '--id', 'sea-print', '--label', 'site=lab', '--root', fixture, '--replay', replay], { encoding: 'utf8' });
    const ref = JSON.parse(viaNode.stdout) as Record<string, any>;
    for (const k of ['clocksource', 'os']) t.same(report[k], ref[k], `${k} as with node`);
    // lastSyncAgeS is now − the recorded reference time: it moves between the two runs.
    t.same({ ...report.ntp, lastSyncAgeS: 0 }, { ...ref.ntp, lastSyncAgeS: 0 }, 'ntp as with node');
    t.same(report.timezone.name, ref.timezone.name);
    t.same(report.rtc.mode, ref.rtc.mode);
    // A config file and the environment, with the precedence flags > env > file.
    const d = t.testdir({ 'agent.json': JSON.stringify({ id: 'from-file', labels: { site: 'file' }, interval: 30, root: fixture }) });
    const c = await runWithoutNode(exe, ['--print', '--config', path.join(d, 'agent.json'), '--replay', replay], { CLOCKWATCH_ID: 'from-env' });
    t.equal(c.code, 0, c.stderr);
    t.match(JSON.parse(c.stdout), { agent: { id: 'from-env', labels: { site: 'file' }, intervalS: 30 }, clocksource: { current: 'kvm-clock' } });
    const bad = await runWithoutNode(exe, ['--interval', 'soon']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, /^clockwatch-agent: --interval: /);
  });

  t.test('--once to a live collector with a token bound to the agent', async (t) => {
    const d = t.testdir();
    const token = runCli(['token', 'new', '--agent', 'sea-*']);
    const secret = /^ {2}(cw_\S+)$/m.exec(token.stdout)?.[1] as string;
    const line = /^ {2}(sha256:\S+ +\S+)$/m.exec(token.stdout)?.[1] as string;
    writeFileSync(path.join(d, 'tokens'), `${line}\n`);
    writeFileSync(path.join(d, 'agent.token'), `${secret}\n`);
    const s = await serve(['--db', path.join(d, 'c.db'), '--tokens', path.join(d, 'tokens')]);
    t.teardown(() => s.stop());
    const r = await runWithoutNode(exe, ['--once', '--collector', s.url, '--token-file', path.join(d, 'agent.token'), '--id', 'sea-once', '--label', 'role=web', '--spool', path.join(d, 'spool'), '--root', fixture, '--replay', replay]);
    t.equal(r.code, 0, r.stderr);
    t.match(JSON.parse(r.stdout), { accepted: true, stored: true });
    const res = await request(`${s.url}/v1/agents/sea-once`);
    t.equal(res.statusCode, 200);
    t.match(await res.body.json(), { agent: { id: 'sea-once', labels: { role: 'web' } } });
    // The wrong token: refused, kept in the spool (exit 1 per the agent's contract).
    writeFileSync(path.join(d, 'bad.token'), 'cw_wrong\n');
    const bad = await runWithoutNode(exe, ['--once', '--collector', s.url, '--token-file', path.join(d, 'bad.token'), '--id', 'sea-once', '--spool', path.join(d, 'spool2'), '--root', fixture, '--replay', replay]);
    t.not(bad.code, 0);
    t.match(JSON.parse(bad.stdout), { accepted: false, error: { code: 'CW_ERR_AUTH' } });
  });

  t.test('--once over HTTPS to a collector with a certificate of a private CA (NODE_EXTRA_CA_CERTS)', async (t) => {
    const d = t.testdir();
    const key = path.join(d, 'key.pem');
    const cert = path.join(d, 'cert.pem');
    const o = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    t.equal(o.status, 0, o.stderr);
    const s = await serve(['--db', path.join(d, 'c.db'), '--tls-cert', cert, '--tls-key', key]);
    t.teardown(() => s.stop());
    t.match(s.url, /^https:\/\/127\.0\.0\.1:/);
    const args = ['--once', '--collector', s.url, '--id', 'sea-tls', '--spool', path.join(d, 'spool'), '--root', fixture, '--replay', replay];
    const untrusted = await runWithoutNode(exe, args);
    t.equal(untrusted.code, 1, 'a certificate it cannot verify: not delivered, spooled');
    t.match(JSON.parse(untrusted.stdout), { accepted: false, spooled: true });
    const ok = await runWithoutNode(exe, args, { NODE_EXTRA_CA_CERTS: cert });
    t.equal(ok.code, 0, ok.stderr);
    t.match(JSON.parse(ok.stdout), { accepted: true });
  });

  t.test('the loop with the pull endpoint, stopped by SIGTERM', async (t) => {
    const d = t.testdir();
    const s = await serve(['--db', path.join(d, 'c.db'), '--rate-limit', '0']);
    t.teardown(() => s.stop());
    const child = spawnWithoutNode(exe, ['--collector', s.url, '--interval', '1', '--listen', '127.0.0.1:0', '--id', 'sea-loop', '--spool', path.join(d, 'spool'), '--root', fixture, '--replay', replay]);
    let log = '';
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    t.teardown(() => child.kill('SIGKILL'));
    // Poll the collector until it holds two reports of this agent (no time is asserted).
    let count = 0;
    for (let i = 0; i < 600 && count < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await request(`${s.url}/v1/agents/sea-loop/history`);
      const body = (await res.body.json()) as { points?: unknown[] };
      count = res.statusCode === 200 ? (body.points?.length ?? 0) : 0;
    }
    t.ok(count >= 2, `two cycles reported (${count})`);
    const port = /pull endpoint on http:\/\/127\.0\.0\.1:(\d+)\//.exec(log)?.[1];
    t.ok(port, `the pull endpoint is logged: ${log}`);
    const pulled = await request(`http://127.0.0.1:${port}/v1/report`);
    t.equal(pulled.statusCode, 200);
    t.match(await pulled.body.json(), { agent: { id: 'sea-loop' } });
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM: the cycle in flight finishes, exit 0');
    t.match(log, /SIGTERM: finishing the cycle in flight/);
    t.match(log, /stopped/);
  });

  t.test('the tarball holds the executable, the unit, the sysusers file and the example config', async (t) => {
    const list = execFileSync('tar', ['-tzvf', built.file('.tar.gz')], { encoding: 'utf8' });
    const top = `clockwatch-agent-${built.info.version}-linux-x64`;
    for (const [f, mode] of [
      ['usr/bin/clockwatch-agent', '-rwxr-xr-x'],
      ['usr/lib/systemd/system/clockwatch-agent.service', '-rw-r--r--'],
      ['usr/lib/sysusers.d/clockwatch-agent.conf', '-rw-r--r--'],
      ['etc/clockwatch/agent.example.json', '-rw-r--r--'],
    ] as const) {
      t.match(list, new RegExp(`^${mode} 0/0 .* ${top}/${f.replace(/\./g, '\\.')}$`, 'm'), f);
    }
    t.notMatch(list, /machine-id|agent\.token|etc\/clockwatch\/agent\.json/, 'no identity and no token in the tarball');
    const sums = readFileSync(path.join(built.dir, 'SHA256SUMS'), 'utf8');
    t.match(sums, new RegExp(`^[0-9a-f]{64}  ${top}\\.tar\\.gz$`, 'm'));
  });
});
