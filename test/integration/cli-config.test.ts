/**
 * The new options of serve (exports, signing, libvirt) stop the collector at start with one line
 * naming the option, wherever the value came from; `--libvirt-uri` runs the real virsh against
 * libvirt's built-in test driver (test:///default, no libvirtd needed).
 */
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'undici';
import { ed25519Files, runCli, runCliAsync, serve } from './helpers.js';

t.test('bad export and libvirt options: exit 2, one line naming the option', async (t) => {
  const dir = t.testdir({ 'garbage.pem': '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n', 'keep.json': '{"exportKeep": "many"}' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'rsa.pem'), rsa);
  const good = ed25519Files(dir);
  const db = join(dir, 'x.db');
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--export-every', '7m'], {}, /^clockwatch-collector serve: --export-every: 420000 ms neither divides a day .* \(got '7m'\)$/],
    [['--export-every', '30s'], {}, /--export-every: 30000 ms is outside 1m\.\.366d/],
    [[], { CLOCKWATCH_EXPORT_EVERY: '5h' }, /^clockwatch-collector serve: CLOCKWATCH_EXPORT_EVERY: /],
    [['--export-keep', '0'], {}, /--export-keep: expected at least 1, got '0'/],
    [['--config', join(dir, 'keep.json')], {}, /exportKeep in .*keep\.json: expected a whole number/],
    [['--export-dir', dir, '--export-key', join(dir, 'missing.pem')], {}, /--export-key: cannot read .*missing\.pem: ENOENT/],
    [['--export-dir', dir, '--export-key', join(dir, 'garbage.pem')], {}, /--export-key: .*garbage\.pem: export signing key is not a PEM private key/],
    [['--export-dir', dir, '--export-key', join(dir, 'rsa.pem')], {}, /--export-key: .*rsa\.pem: export signing key must be Ed25519, not rsa/],
    [['--export-key', good.privateKey], {}, /--export-key: needs --export-dir as well/],
    [['--export-dir', join(dir, 'garbage.pem', 'sub')], {}, /--export-dir: cannot create .*: ENOTDIR/],
    [['--libvirt-xml-dir', join(dir, 'nowhere')], {}, /--libvirt-xml-dir: cannot read .*nowhere: ENOENT/],
    [['--libvirt-xml-dir', join(dir, 'rsa.pem')], {}, /--libvirt-xml-dir: .*rsa\.pem is not a directory/],
    [['--libvirt-uri', '-c evil'], {}, /--libvirt-uri: expected a libvirt URI such as qemu:\/\/\/system, got '-c evil'/],
    [['--libvirt-refresh', 'soon'], {}, /--libvirt-refresh: expected a duration/],
  ];
  const results = await Promise.all(cases.map(([args, env]) => runCliAsync(['serve', '--db', db, ...args], env)));
  for (const [i, [args, env, re]] of cases.entries()) {
    const r = results[i]!;
    t.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: exit 2`);
    const lines = r.stderr.trim().split('\n');
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], re);
    t.equal(r.stdout, '', 'nothing started');
  }
  t.notOk(existsSync(db), 'no database created by a refused start');
  const help = runCli(['serve', '--help']).stdout;
  for (const f of ['--export-dir DIR', '--export-every DURATION', '--export-keep N', '--export-key FILE', '--libvirt-xml-dir DIR', '--libvirt-uri URI']) t.match(help, f);
  const usage = runCli(['--help']).stdout;
  for (const c of ['export', 'status', 'verify']) t.match(usage, new RegExp(`^  ${c} `, 'm'), `${c} in the command list`);
});

t.test('serve --libvirt-uri runs virsh (list --all --uuid, then dumpxml each)', { skip: existsSync('/usr/bin/virsh') ? false : 'virsh not installed (Debian: libvirt-clients)' }, async (t) => {
  const dir = t.testdir();
  const served = await serve(['--db', join(dir, 'c.db'), '--libvirt-uri', 'test:///default']);
  t.teardown(() => served.stop());
  const pool = new Pool(served.url);
  t.teardown(() => pool.close());
  const res = await pool.request({ method: 'GET', path: '/v1/libvirt' });
  const body = (await res.body.json()) as { sources: { uri: string }; errors: unknown[]; domains: { name: string; uuid: string; source: string; check: { status: string; reason: string } }[] };
  t.equal(res.statusCode, 200);
  t.same(body.errors, []);
  t.equal(body.sources.uri, 'test:///default');
  t.equal(body.domains.length, 1, "the test driver's one domain");
  t.equal(body.domains[0]?.name, 'test');
  t.equal(body.domains[0]?.source, 'virsh -r -c test:///default dumpxml 6695eb01-f6a4-8304-79aa-97f2502e193f');
  t.equal(body.domains[0]?.check.status, 'unknown', 'no agent and no libosinfo metadata: the family is not known');
});
