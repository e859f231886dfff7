/**
 * Reading domain XML: a directory (bounded, errors as data) and virsh through an injected runner
 * replaying outputs recorded from virsh 9.0 (test/fixtures/libvirt/virsh/record.sh); and, where
 * virsh is installed, the real runner against libvirt's built-in test driver.
 */
import t from 'tap';
import { evaluateLibvirtClock } from '@clockwatch/shared';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandResult, CommandRunner } from '@clockwatch/shared';
import {
  createExecFileRunner,
  mergeDomainSources,
  readDomainsViaVirsh,
  readDomainXmlDir,
  readLibvirtDomains,
} from '@clockwatch/collector/libvirt';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'libvirt');
const recorded = join(fixtures, 'virsh');
const FIXTURES = ['linux-utc', 'linux-localtime', 'windows-localtime-hypervclock', 'windows-utc', 'variable-adjustment', 'timezone-paris'];
const URI = 'qemu:///system';

/** Replays recorded virsh outputs; anything else is a test failure. */
function replay(overrides: Record<string, CommandResult> = {}): CommandRunner & { calls: string[][]; maxConcurrent: number } {
  let active = 0;
  const runner = Object.assign(
    async (command: string, args: readonly string[]): Promise<CommandResult> => {
      runner.calls.push([command, ...args]);
      active++;
      runner.maxConcurrent = Math.max(runner.maxConcurrent, active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      const key = args.join(' ');
      if (key in overrides) return overrides[key] as CommandResult;
      // Always a read-only connection (issue 11, item 14).
      if (command !== 'virsh' || args[0] !== '-r' || args[1] !== '-c' || args[2] !== URI) throw new Error(`unexpected command ${command} ${key}`);
      const rest = args.slice(3).join(' ');
      if (rest === 'list --all --uuid') return { code: 0, stdout: readFileSync(join(recorded, 'list.stdout'), 'utf8'), stderr: '' };
      const m = /^dumpxml ([0-9a-f-]{36})$/.exec(rest);
      if (m && existsSync(join(recorded, `dumpxml-${m[1]}.xml`))) return { code: 0, stdout: readFileSync(join(recorded, `dumpxml-${m[1]}.xml`), 'utf8'), stderr: '' };
      return { code: 1, stdout: '', stderr: readFileSync(join(recorded, 'dumpxml-missing.stderr'), 'utf8') };
    },
    { calls: [] as string[][], maxConcurrent: 0 },
  );
  return runner;
}

t.test('directory: every *.xml file, errors as data', async (t) => {
  const dir = t.testdir({
    'notes.txt': 'not XML',
    '.hidden.xml': '<domain/>',
    'broken.xml': '<domain><name>half',
    'network.xml': "<network><name>default</name></network>",
    'big.xml': `<domain><description>${'x'.repeat(5000)}</description></domain>`,
    'dir.xml': {},
    networks: { 'default.xml': '<network/>' },
    autostart: {},
  });
  for (const f of FIXTURES) copyFileSync(join(fixtures, `${f}.xml`), join(dir, `${f}.xml`));
  const r = await readDomainXmlDir(dir, { maxFileBytes: 4096 });
  t.same(r.domains.map((d) => d.domain.name), ['db-alma9', 'web-deb12', 'pos-paris-01', 'ci-runner-ubuntu', 'dc01-win2k22', 'app-win2k19'], 'sorted by file name');
  t.equal(r.domains[0]?.source, join(dir, 'linux-localtime.xml'));
  const errs = Object.fromEntries(r.errors.map((e) => [e.source.slice(dir.length + 1), e]));
  t.same(Object.keys(errs).sort(), ['big.xml', 'broken.xml', 'network.xml']);
  t.match(errs['big.xml'], { code: 'CW_ERR_READ', message: /larger than the 4096-byte limit/ });
  t.match(errs['broken.xml'], { code: 'CW_ERR_PARSE', message: /unclosed element/ });
  t.match(errs['network.xml'], { code: 'CW_ERR_PARSE', message: /root element is <network>/ });
});

t.test('directory: a missing directory is an error entry, not an exception', async (t) => {
  const r = await readDomainXmlDir(join(t.testdir({}), 'nope'));
  t.same(r.domains, []);
  t.match(r.errors, [{ code: 'CW_ERR_NOT_FOUND' }]);
});

t.test('directory: unreadable file', { skip: process.getuid?.() === 0 ? 'running as root: permissions are not enforced' : false }, async (t) => {
  const dir = t.testdir({ 'secret.xml': '<domain/>' });
  const { chmodSync } = await import('node:fs');
  chmodSync(join(dir, 'secret.xml'), 0);
  const r = await readDomainXmlDir(dir);
  t.match(r.errors, [{ code: 'CW_ERR_PERMISSION', message: /permission denied/ }]);
});

t.test('directory: invalid UTF-8 is refused', async (t) => {
  const dir = t.testdir({});
  writeFileSync(join(dir, 'latin1.xml'), Buffer.from([0x3c, 0x64, 0x3e, 0xe9, 0x3c, 0x2f, 0x64, 0x3e]));
  const r = await readDomainXmlDir(dir);
  t.match(r.errors, [{ code: 'CW_ERR_PARSE', message: /not UTF-8/ }]);
});

t.test('virsh: list then dumpxml each, from recorded outputs', async (t) => {
  const runner = replay();
  const r = await readDomainsViaVirsh(runner, URI, { concurrency: 3 });
  t.same(r.errors, []);
  t.equal(r.domains.length, 6);
  t.same(runner.calls[0], ['virsh', '-r', '-c', URI, 'list', '--all', '--uuid']);
  // list, six dumpxml, and for each running domain its inactive definition (what it boots with next).
  t.equal(runner.calls.length, 13);
  t.equal(runner.calls.filter((c) => c.includes('--inactive')).length, 6);
  t.ok(runner.maxConcurrent <= 3, `at most 3 at once (saw ${runner.maxConcurrent})`);
  t.same(
    r.domains.map((d) => d.domain.name),
    ['web-deb12', 'db-alma9', 'dc01-win2k22', 'app-win2k19', 'ci-runner-ubuntu', 'pos-paris-01'],
    'in list order whatever the completion order',
  );
  t.ok(r.domains.every((d) => d.domain.live), 'running domains: live XML');
  t.equal(r.domains[0]?.source, `virsh -r -c ${URI} dumpxml 3f5b2c8e-6a1d-4e2f-9b7c-0d4e8a1f2b3c`);
});

t.test('virsh: a host without libvirtd', async (t) => {
  const runner = replay({ [`-r -c ${URI} list --all --uuid`]: { code: 1, stdout: '', stderr: readFileSync(join(recorded, 'connect-failure.stderr'), 'utf8') } });
  const r = await readDomainsViaVirsh(runner, URI);
  t.same(r.domains, []);
  t.same(r.errors, [
    {
      source: `virsh -r -c ${URI} list --all --uuid`,
      code: 'CW_ERR_COMMAND_FAILED',
      message: `virsh -r -c ${URI} list --all --uuid: failed to connect to the hypervisor: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory`,
    },
  ]);
});

t.test('virsh: a domain undefined between list and dumpxml, a timeout, garbage in the list', async (t) => {
  const list = readFileSync(join(recorded, 'list.stdout'), 'utf8') + '00000000-0000-0000-0000-000000000000\n--help\n';
  const runner = replay({
    [`-r -c ${URI} list --all --uuid`]: { code: 0, stdout: list, stderr: '' },
    [`-r -c ${URI} dumpxml 7b2e4d6f-8a0c-4e1f-b3d5-f7a9c1e3b5d7`]: { code: null, stdout: '', stderr: '', error: 'TIMEOUT' },
  });
  const r = await readDomainsViaVirsh(runner, URI);
  t.equal(r.domains.length, 5);
  t.match(r.errors, [
    { code: 'CW_ERR_PARSE', message: /unexpected line '--help'/ },
    { code: 'CW_ERR_COMMAND_TIMEOUT', source: /dumpxml 7b2e4d6f/ },
    { code: 'CW_ERR_COMMAND_FAILED', message: /dumpxml 00000000-0000-0000-0000-000000000000: failed to get domain '00000000-0000-0000-0000-000000000000'/ },
  ]);
  t.notOk(runner.calls.some((c) => c.includes('--help')), 'nothing virsh printed became an option');
});

t.test('virsh: not installed, or a runner that throws', async (t) => {
  const missing: CommandRunner = async () => ({ code: null, stdout: '', stderr: '', error: 'ENOENT' });
  t.match((await readDomainsViaVirsh(missing, URI)).errors, [{ code: 'CW_ERR_COMMAND_FAILED', message: /virsh is not installed \(Debian: libvirt-clients\)/ }]);
  const throws: CommandRunner = async () => {
    throw new Error('boom');
  };
  t.match((await readDomainsViaVirsh(throws, URI)).errors, [{ code: 'CW_ERR_COMMAND_FAILED', message: /boom/ }]);
});

t.test('merge: virsh (live) wins over the directory for the same UUID', async (t) => {
  const dir = t.testdir({ 'extra.xml': "<domain type='kvm'><name>only-on-disk</name><uuid>aaaaaaaa-0000-4000-8000-000000000001</uuid></domain>" });
  for (const f of FIXTURES) copyFileSync(join(fixtures, `${f}.xml`), join(dir, `${f}.xml`));
  const r = await readLibvirtDomains({ xmlDir: dir, uri: URI, runner: replay() });
  t.same(r.errors, []);
  t.equal(r.domains.length, 7);
  t.ok(r.domains.filter((d) => d.domain.name !== 'only-on-disk').every((d) => d.source.startsWith('virsh ')));
  // Persistent first, live second: the live one still wins.
  const fromDir = await readDomainXmlDir(dir);
  const fromVirsh = await readDomainsViaVirsh(replay(), URI);
  const m = mergeDomainSources([fromDir, fromVirsh]);
  t.equal(m.domains.length, 7);
  t.equal(m.domains.find((d) => d.domain.name === 'web-deb12')?.domain.live, true);
  await t.rejects(readLibvirtDomains({ uri: URI }), /CommandRunner is required/);
  t.same(await readLibvirtDomains({}), { domains: [], errors: [] });
});

t.test('the real runner: no shell, LC_ALL=C, TZ=UTC, timeouts and missing binaries as data', async (t) => {
  const run = createExecFileRunner({ env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'de_DE.UTF-8' } });
  const env = await run(process.execPath, ['-e', 'process.stdout.write(JSON.stringify([process.env.LC_ALL, process.env.TZ, process.argv[1]]))', '$(id)']);
  t.same(env, { code: 0, stdout: JSON.stringify(['C', 'UTC', '$(id)']), stderr: '' }, 'arguments are not expanded by a shell');
  const exit = await run(process.execPath, ['-e', 'process.stderr.write("bad"); process.exit(3)']);
  t.match(exit, { code: 3, stderr: 'bad' });
  t.match(await run('/nonexistent/virsh', []), { code: null, error: 'ENOENT' });
  const slow = await run(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 });
  t.match(slow, { code: null, error: 'TIMEOUT' });
  // By default nothing of the collector's environment reaches the child.
  process.env.CLOCKWATCH_TOKEN = 'secret-token';
  t.teardown(() => {
    delete process.env.CLOCKWATCH_TOKEN;
  });
  const clean = await createExecFileRunner()(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(Object.keys(process.env).sort()))']);
  // (tap's coverage hook adds its own _TAPJS_* and NODE_OPTIONS to every child it sees.)
  const keys = (JSON.parse(clean.stdout) as string[]).filter((k) => !k.startsWith('_TAPJS_') && k !== 'NODE_OPTIONS');
  t.same(keys, ['LANG', 'LC_ALL', 'PATH', 'TZ']);
});

const VIRSH = ['/usr/bin/virsh', '/usr/local/bin/virsh'].find((p) => existsSync(p));
t.test('real virsh against libvirt\'s test driver', { skip: VIRSH ? false : 'virsh not installed (Debian package libvirt-clients)' }, async (t) => {
  const dir = t.testdir({});
  const node = join(dir, 'node.xml');
  const body = FIXTURES.map((f) => readFileSync(join(fixtures, `${f}.xml`), 'utf8').replace(/<!--[\s\S]*?-->/g, '')).join('\n');
  writeFileSync(node, `<node>\n${body}\n</node>\n`);
  mkdirSync(join(dir, 'home'));
  const run = createExecFileRunner({ env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'home') } });
  const r = await readDomainsViaVirsh(run, `test://${node}`, { virsh: VIRSH as string });
  t.same(r.errors, []);
  t.same(r.domains.map((d) => d.domain.name).sort(), ['app-win2k19', 'ci-runner-ubuntu', 'db-alma9', 'dc01-win2k22', 'pos-paris-01', 'web-deb12']);
  t.same(
    r.domains.map((d) => [d.domain.name, d.domain.clock?.offset]).sort(),
    [
      ['app-win2k19', 'utc'],
      ['ci-runner-ubuntu', 'variable'],
      ['db-alma9', 'localtime'],
      ['dc01-win2k22', 'localtime'],
      ['pos-paris-01', 'timezone'],
      ['web-deb12', 'utc'],
    ],
  );
});

t.test('virsh: a running domain redefined to localtime shows the pending change', async (t) => {
  const uuid = '3f5b2c8e-6a1d-4e2f-9b7c-0d4e8a1f2b3c';
  const runner = replay({ [`-r -c ${URI} dumpxml --inactive ${uuid}`]: { code: 0, stdout: readFileSync(join(recorded, '..', 'linux-localtime.xml'), 'utf8'), stderr: '' } });
  const r = await readDomainsViaVirsh(runner, URI, { concurrency: 2 });
  const web = r.domains.find((d) => d.domain.uuid === uuid)!;
  t.equal(web.domain.clock?.offset, 'utc', 'running with its old utc config');
  t.equal(web.nextBoot?.clock?.offset, 'localtime', 'the next boot uses localtime');
  t.equal(r.domains.filter((d) => d.nextBoot).length, 1);
  const v = evaluateLibvirtClock(web.domain, 'linux', { rtcOffsetS: 0.4 }, { nextBoot: web.nextBoot ?? null });
  t.equal(v.status, 'warn', v.reason);
  t.ok(v.reason.includes("from the next boot: <clock offset='localtime'>, which will fail"), v.reason);
  t.ok(v.reason.includes("set <clock offset='utc'>"), 'and names the fix');
});
