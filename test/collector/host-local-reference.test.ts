/**
 * The collector's own host check: a host whose chronyd follows only its `local stratum` reference
 * (the real recording chrony-live-local-only, refid 7F7F0101 LOCL) is free-running, so the host is
 * not synchronised and every offset verdict says "reference unreliable" — read through the same
 * readNtp the collector's host-ntp uses.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { staticHostClock, fixedClock } from '@clockwatch/collector';
import { createReplayRunner, readNtp } from '@clockwatch/shared/node';
import { appWith, loadCase, repoRoot } from './helpers.js';

t.test('host chronyd on its local reference only: reference unreliable', async (t) => {
  const root = t.testdir({});
  mkdirSync(path.join(root, 'proc/4242'), { recursive: true });
  writeFileSync(path.join(root, 'proc/4242/comm'), 'chronyd\n');
  mkdirSync(path.join(root, 'run/chrony'), { recursive: true });
  writeFileSync(path.join(root, 'run/chrony/chronyd.pid'), '4242\n');
  const host = await readNtp({ root, run: createReplayRunner(path.join(repoRoot, 'test/fixtures/commands/chrony-live-local-only')) });
  t.match(host, { daemon: 'chronyd', synchronized: false, localReferenceOnly: true });
  // Even a section that claims synchronised is not, when it follows only its local reference.
  t.equal(staticHostClock({ ...host, synchronized: true } as typeof host).current().synchronized, false);

  const c = loadCase('kvm-linux-compliant');
  const { app, close } = await appWith({ clock: fixedClock(c.context.receivedAtMs), hostClock: staticHostClock(host) });
  t.teardown(close);
  const res = await app.inject({ method: 'POST', url: '/v1/reports', payload: c.report });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const one = (await app.inject({ method: 'GET', url: `/v1/agents/${encodeURIComponent(c.report.agent.id)}` })).json();
  const offset = one.verdict.checks.find((x: { id: string }) => x.id === 'offset');
  t.equal(offset.status, 'warn', offset.reason);
  t.match(offset.reason, 'reference unreliable: the collector host itself is not NTP-synchronised');
});
