/**
 * The chrony reader against a real chronyd: a server chronyd (`local stratum 5`) and a client
 * chronyd that follows it over loopback, both with -x (they never touch the system clock), on free
 * ports, with their pid/drift files in a temporary directory and no Unix command socket
 * (`bindcmdaddress /`). The client's command port is on 127.0.0.1, where chronyc -h/-p reaches it.
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCommandRunner, parseChronyCsv, readChrony, readNtp } from '@clockwatch/agent';
import type { NtpInfo } from '@clockwatch/shared';
import { tmpdir } from './helpers/tmp.js';

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd} || ls /usr/sbin/${cmd} 2>/dev/null`], { encoding: 'utf8' }).trim().split('\n')[0] || null;
  } catch {
    return null;
  }
}
const chronyd = which('chronyd');
const chronyc = which('chronyc');

/** A free UDP port on 127.0.0.1 (bound, read, released). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function start(t: Test, conf: string, name: string): ChildProcess {
  // -d: stay in the foreground (this test owns the process); -x: never adjust the clock;
  // -u root: no privilege drop to a user that may not own the temp dir.
  const child = spawn(chronyd!, ['-d', '-x', '-u', 'root', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
    if (!t.passing()) t.comment(`${name} log:\n${log}`);
  });
  return child;
}

t.test('readChrony follows a real chronyd -x to "synchronised"', { skip: chronyd && chronyc ? false : 'chronyd/chronyc not installed (Debian package chrony; .ci/run installs it)' }, async (t) => {
  const dir = tmpdir(t, 'cw-chrony-');
  const ntpPort = await freeUdpPort();
  const cmdPort = await freeUdpPort();
  const serverConf = path.join(dir, 'server.conf');
  const clientConf = path.join(dir, 'client.conf');
  writeFileSync(
    serverConf,
    [`port ${ntpPort}`, 'bindaddress 127.0.0.1', 'local stratum 5', 'allow 127.0.0.1', 'cmdport 0', 'bindcmdaddress /', `pidfile ${dir}/server.pid`, `driftfile ${dir}/server.drift`, ''].join('\n'),
  );
  writeFileSync(
    clientConf,
    [`server 127.0.0.1 port ${ntpPort} iburst minpoll -4 maxpoll -4`, 'port 0', `cmdport ${cmdPort}`, 'bindcmdaddress 127.0.0.1', 'bindcmdaddress /', `pidfile ${dir}/client.pid`, `driftfile ${dir}/client.drift`, ''].join('\n'),
  );
  const seen: NtpInfo[] = [];
  t.teardown(() => {
    if (!t.passing()) t.comment(`reads: ${JSON.stringify(seen)}`);
  });
  const server = start(t, serverConf, 'server chronyd');
  const client = start(t, clientConf, 'client chronyd');

  const ctx = { root: '/', run: createCommandRunner(), chrony: { host: '127.0.0.1', port: cmdPort }, commandTimeoutMs: 3000 };
  let synced: NtpInfo | null = null;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !synced) {
    t.equal(server.exitCode, null, 'server chronyd runs');
    t.equal(client.exitCode, null, 'client chronyd runs');
    if (server.exitCode !== null || client.exitCode !== null) return;
    const n = await readChrony(ctx);
    seen.push(n);
    if (n.synchronized) synced = n;
    else await new Promise((r) => setTimeout(r, 250));
  }
  t.ok(synced, `synchronised within 20 s (${seen.length} reads; first: ${JSON.stringify(seen[0])})`);
  if (!synced) return;
  t.match(synced, { daemon: 'chronyd', synchronized: true, server: '127.0.0.1', stratum: 6, pollIntervalS: 0.0625 });
  // The same clock on both ends: only measurement noise (scheduling delays under a loaded test run).
  t.ok(Math.abs(synced.offsetMs!) < 50, `offset ${synced.offsetMs} ms: the same clock on both ends`);
  // Right after the first update chrony's dispersion can still be a few hundred ms; it is chrony's bound, not ours.
  t.ok(synced.maxErrorMs! > 0 && synced.maxErrorMs! < 1000, `max error ${synced.maxErrorMs} ms`);
  t.ok(synced.lastSyncAgeS! >= 0 && synced.lastSyncAgeS! < 10, `last sync ${synced.lastSyncAgeS} s ago`);

  // The raw output has the shape the recorded fixtures have (one 14-field tracking line, 10-field sources).
  const raw = await ctx.run('chronyc', ['-h', '127.0.0.1', '-p', String(cmdPort), '-c', '-m', 'tracking', 'sources']);
  const parsed = parseChronyCsv(raw.stdout);
  t.equal(parsed.tracking?.address, '127.0.0.1');
  t.equal(parsed.sources.filter((s) => s.state === '*').length, 1, 'one selected source');

  // Through readNtp: the daemon is found in /proc (our chronyd processes), then asked on its port.
  const viaNtp = await readNtp(ctx);
  t.match(viaNtp, { daemon: 'chronyd', synchronized: true });

  client.kill('SIGTERM');
  await new Promise((r) => client.once('exit', r));
  const down = await readChrony(ctx);
  t.match(down, { daemon: 'chronyd', synchronized: null, statusError: { code: 'CW_ERR_DAEMON_DOWN' } }, 'a stopped chronyd is reported, not guessed');
});
