/**
 * The chrony reader against a real chronyd: a server chronyd (`local stratum 5`) and a client
 * chronyd that follows it over loopback, both with -x (they never touch the system clock), on free
 * ports, with their pid/drift files in a temporary directory and no Unix command socket
 * (`bindcmdaddress /`). The client's command port is on 127.0.0.1, where chronyc -h/-p reaches it.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCommandRunner, parseChronyCsv, readChrony, readNtp } from '@clockwatch/agent';
import type { NtpInfo } from '@clockwatch/shared';
import { tmpdir } from './helpers/tmp.js';
import { chronySkip, freeUdpPort, startChronyd, stopChild } from './helpers/chronyd.js';




t.test('readChrony follows a real chronyd -x to "synchronised"', { skip: chronySkip }, async (t) => {
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
  const server = startChronyd(t, serverConf, 'server chronyd');
  const client = startChronyd(t, clientConf, 'client chronyd');

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

  await stopChild(client);
  const down = await readChrony(ctx);
  t.match(down, { daemon: 'chronyd', synchronized: null, statusError: { code: 'CW_ERR_DAEMON_DOWN' } }, 'a stopped chronyd is reported, not guessed');
});
