/**
 * Issue 11, item 14: the libvirt audit opens a read-only connection. With the real virsh against
 * libvirt's test driver (test:///default, no daemon needed) and the collector's real command
 * runner: every virsh call the audit makes carries `-r` before the URI, the domain is still read,
 * and the very connection options the audit uses make libvirt refuse a change ("read only access
 * prevents virDomainDestroy") — the audit could not modify a domain even if it tried.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import type { CommandRunner } from '@clockwatch/shared';
import { createExecFileRunner, readDomainsViaVirsh } from '../../packages/collector/dist/libvirt/index.js';

const VIRSH = ['/usr/bin/virsh', '/bin/virsh'].find((p) => existsSync(p));

t.test('virsh is called with a read-only connection, and that connection refuses changes', { skip: VIRSH ? false : 'virsh not installed (Debian: libvirt-clients)' }, async (t) => {
  const real = createExecFileRunner();
  const calls: string[][] = [];
  const recording: CommandRunner = (command, args, opts) => {
    calls.push([command, ...args]);
    return real(command, args, opts);
  };
  const r = await readDomainsViaVirsh(recording, 'test:///default');
  t.same(r.errors, [], 'read without errors');
  t.ok(r.domains.some((d) => d.domain.name === 'test'), 'the test driver’s domain is read');
  t.ok(calls.length >= 2, `${calls.length} virsh calls`);
  for (const c of calls) t.same(c.slice(1, 4), ['-r', '-c', 'test:///default'], `read-only: ${c.join(' ')}`);

  const conn = (calls[0] as string[]).slice(1, 4);
  const destroy = await real('virsh', [...conn, 'destroy', 'test'], { timeoutMs: 15_000 });
  t.not(destroy.code, 0, 'a change over the same connection options fails');
  t.match(destroy.stderr, /read only access prevents/, destroy.stderr.trim());
});
