/**
 * The host audit against a real libvirtd 9.0 + QEMU 7.2 under TCG. The test starts its own
 * libvirtd in a private mount namespace (unshare -m) in which Asia/Shanghai is bound over
 * /etc/localtime — libvirt strips TZ from QEMU's environment, so this is how QEMU's `-rtc
 * base=localtime` really reads +08:00 without touching the machine's zone — and with its state,
 * config and sockets in a temp dir (nothing shared with another libvirtd). Transient domains boot
 * the Debian cloud kernel with a busybox initrd: `<clock offset='localtime'>`, `'utc'`, and one
 * running Debian's qemu-ga (with its libraries) in the initrd. A collector serves with
 * `--libvirt-uri ... --host-audit rtc,guest-agent`; GET /v1/libvirt shows the agentless guests
 * with their evidence and verdicts, and `status --db --host-audit` lists them. Every domain and
 * the daemon are stopped in teardown.
 *
 * The RTC exists from QEMU's start, so it is read without waiting for the guest to boot; only
 * the guest-agent guest is waited for (its qemu-ga answers once the initrd runs, some seconds under TCG).
 */
import t from 'tap';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { runCliAsync, serve, until } from './helpers.js';

const KERNEL = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')).sort().pop() : undefined;
const missing = [
  process.getuid?.() === 0 ? null : 'root (libvirtd system mode)',
  existsSync('/usr/sbin/libvirtd') ? null : 'libvirt-daemon-system',
  existsSync('/usr/bin/qemu-system-x86_64') ? null : 'qemu-system-x86',
  existsSync('/bin/busybox') ? null : 'busybox-static',
  KERNEL ? null : 'linux-image-cloud-amd64',
].filter(Boolean);
const skip = missing.length > 0 ? `needs ${missing.join(', ')} (.ci/run installs them)` : false;
const QGA = '/usr/sbin/qemu-ga';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** A busybox initrd; with qemu-ga, its shared libraries and the virtio modules it needs. */
function buildInitrd(dir: string, withAgent: boolean): string {
  const root = join(dir, withAgent ? 'root-ga' : 'root');
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'run', 'mod']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  let init = '#!/bin/busybox sh\n';
  if (withAgent) {
    copyFileSync(QGA, join(root, 'sbin', 'qemu-ga'));
    for (const lib of sh('ldd', [QGA]).match(/\/\S+/g) ?? []) {
      mkdirSync(join(root, lib, '..'), { recursive: true });
      copyFileSync(lib, join(root, lib));
    }
    const kv = (KERNEL as string).slice('vmlinuz-'.length);
    const mods = ['virtio/virtio_ring', 'virtio/virtio', 'virtio/virtio_pci_modern_dev', 'virtio/virtio_pci_legacy_dev', 'virtio/virtio_pci', 'char/virtio_console'];
    for (const m of mods) copyFileSync(`/lib/modules/${kv}/kernel/drivers/${m}.ko`, join(root, 'mod', `${m.split('/')[1]}.ko`));
    writeFileSync(join(root, 'etc', 'os-release'), 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n');
    init += [
      '/bin/busybox mount -t devtmpfs dev /dev',
      '/bin/busybox mount -t proc proc /proc',
      '/bin/busybox mount -t sysfs sys /sys',
      `for m in ${mods.map((m) => m.split('/')[1]).join(' ')}; do /bin/busybox insmod /mod/$m.ko; done`,
      'while :; do for p in /sys/class/virtio-ports/*; do',
      '  if [ "$(/bin/busybox cat $p/name 2>/dev/null)" = org.qemu.guest_agent.0 ]; then TZ=JST-9 exec /sbin/qemu-ga -m virtio-serial -p /dev/${p##*/} -t /run; fi',
      'done; /bin/busybox sleep 1; done',
      '',
    ].join('\n');
  } else {
    init += '/bin/busybox sleep 1000000\n';
  }
  writeFileSync(join(root, 'init'), init);
  chmodSync(join(root, 'init'), 0o755);
  const out = join(dir, withAgent ? 'initrd-ga.cpio' : 'initrd.cpio');
  // busybox's cpio writes the newc archive the kernel unpacks (no compression: faster to build).
  const list = spawnSync('/bin/busybox', ['find', '.'], { cwd: root, encoding: 'utf8' }).stdout;
  const cpio = spawnSync('/bin/busybox', ['cpio', '-o', '-H', 'newc'], { cwd: root, input: list, maxBuffer: 256 * 1024 * 1024 });
  if (cpio.status !== 0) throw new Error(`cpio: ${cpio.stderr.toString()}`);
  writeFileSync(out, cpio.stdout);
  return out;
}

const domainXml = (name: string, uuid: string, offset: string, initrd: string, agent: boolean, osinfo: boolean) => `<domain type='qemu'>
  <name>${name}</name><uuid>${uuid}</uuid>
  <memory unit='MiB'>${agent ? 192 : 128}</memory><vcpu>1</vcpu>
  ${osinfo ? `<metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>` : ''}
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/boot/${KERNEL}</kernel><initrd>${initrd}</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
  <clock offset='${offset}'/>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='pty'/><console type='pty'/>
  ${agent ? "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>" : ''}</devices>
</domain>`;

const UUID = { localtime: '1c0e5a1e-0000-4000-8000-00000000000a', utc: '1c0e5a1e-0000-4000-8000-00000000000b', ga: '1c0e5a1e-0000-4000-8000-00000000000c' };

t.test('host audit of TCG guests on a real libvirtd', { skip, timeout: 300_000 }, async (t) => {
  // A short path of its own: a unix socket path has at most 107 bytes (unix(7)).
  const dir = mkdtempSync('/tmp/cw-lv-');
  // QEMU runs as libvirt-qemu (qemu.conf user): it must read the kernel's initrd here.
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const x = (p: string) => join(dir, p);
  for (const d of ['sock', 'etc-qemu', 'run', 'lib', 'cache', 'log']) mkdirSync(x(d));
  writeFileSync(x('libvirtd.conf'), `unix_sock_dir = "${x('sock')}"\nunix_sock_ro_perms = "0777"\nunix_sock_rw_perms = "0700"\nauth_unix_ro = "none"\nauth_unix_rw = "none"\n`);
  // stdio to files (no virtlogd to start), no security driver (no AppArmor/SELinux here).
  writeFileSync(x('qemu.conf'), 'stdio_handler = "file"\nsecurity_driver = "none"\n');
  const binds: [string, string][] = [
    ['/usr/share/zoneinfo/Asia/Shanghai', '/etc/localtime'],
    [x('qemu.conf'), '/etc/libvirt/qemu.conf'],
    [x('etc-qemu'), '/etc/libvirt/qemu'],
    [x('run'), '/run/libvirt'],
    [x('lib'), '/var/lib/libvirt'],
    [x('cache'), '/var/cache/libvirt'],
    [x('log'), '/var/log/libvirt'],
  ];
  for (const [, to] of binds) if (!existsSync(to)) mkdirSync(to, { recursive: true });
  const script = `set -e\n${binds.map(([a, b]) => `mount --bind '${a}' '${b}'`).join('\n')}\nexec libvirtd -f '${x('libvirtd.conf')}'\n`;
  const daemon = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let daemonErr = '';
  daemon.stderr.on('data', (d: Buffer) => (daemonErr += d.toString()));
  const exited = new Promise<void>((r) => daemon.on('exit', () => r()));
  const uri = `qemu:///system?socket=${x('sock')}/libvirt-sock`;
  const virsh = (...args: string[]) => spawnSync('virsh', ['-c', uri, ...args], { encoding: 'utf8' });
  t.teardown(async () => {
    for (const u of Object.values(UUID)) virsh('destroy', u);
    daemon.kill('SIGTERM');
    await exited;
  });
  await until(() => (existsSync(`${x('sock')}/libvirt-sock`) && virsh('version').status === 0 ? true : undefined), 60_000, `libvirtd to listen (${daemonErr.slice(-500)})`);

  const withAgent = existsSync(QGA);
  const initrd = buildInitrd(dir, false);
  const doms: [string, string, string, boolean, boolean][] = [
    ['cw-localtime', UUID.localtime, 'localtime', false, true],
    ['cw-utc', UUID.utc, 'utc', false, true],
  ];
  if (withAgent) doms.push(['cw-ga', UUID.ga, 'utc', true, false]);
  for (const [name, uuid, offset, agent, osinfo] of doms) {
    writeFileSync(x(`${name}.xml`), domainXml(name, uuid, offset, agent ? buildInitrd(dir, true) : initrd, agent, osinfo));
    const r = virsh('create', x(`${name}.xml`));
    t.equal(r.status, 0, `virsh create ${name}: ${r.stderr}`);
  }

  const served = await serve(['--db', x('cw.db'), '--libvirt-uri', uri, '--host-audit', 'rtc,guest-agent', '--libvirt-refresh', '2s']);
  t.teardown(() => served.stop());
  const pool = new Pool(served.url, { connections: 1 });
  t.teardown(() => pool.close());
  const libvirt = async () => (await (await pool.request({ method: 'GET', path: '/v1/libvirt' })).body.json()) as any;
  const byUuid = (body: any, u: string) => body.domains.find((d: any) => d.uuid === u);

  const first = await until(async () => {
    const b = await libvirt();
    return byUuid(b, UUID.localtime)?.hostAudit && byUuid(b, UUID.utc)?.hostAudit ? b : undefined;
  }, 60_000, 'the first host audit pass');
  const local = byUuid(first, UUID.localtime);
  t.equal(local.evidence, 'host audit');
  const rtc = local.hostAudit.rtc;
  // QEMU starts its RTC at the host's whole second (mc146818rtc.c), so up to 1 s behind.
  t.ok(rtc.rtcOffsetS - 28800 <= rtc.uncertaintyS && 28800 - rtc.rtcOffsetS <= rtc.uncertaintyS + 1, `localtime reads +28800 s (${rtc.rtcOffsetS} ±${rtc.uncertaintyS})`);
  t.equal(local.verdict.status, 'noncompliant');
  const lc = Object.fromEntries(local.verdict.checks.map((c: any) => [c.id, c]));
  t.same([lc.clocksource.status, lc.clocksource.reason], ['unknown', 'no agent in this guest']);
  t.equal(lc.rtc.status, 'fail');
  t.match(lc['libvirt-clock'].reason, /offset='localtime'> explains the RTC reading \+2880[0-9]|\+28799/);
  t.match(lc.offset.reason, /QEMU guest agent is not configured/);
  const utc = byUuid(first, UUID.utc);
  t.ok(Math.abs(utc.hostAudit.rtc.rtcOffsetS) <= utc.hostAudit.rtc.uncertaintyS + 1, `utc reads 0 s (${utc.hostAudit.rtc.rtcOffsetS})`);
  t.equal(utc.verdict.checks.find((c: any) => c.id === 'rtc').status, 'pass');
  t.match(readFileSafe(join(x('log'), 'qemu', 'cw-utc.log')), /tainted: custom-monitor/, 'libvirt marks the taint');

  if (withAgent) {
    const ga = await until(async () => {
      const d = byUuid(await libvirt(), UUID.ga);
      return d?.hostAudit?.guestTime && 'offsetMs' in d.hostAudit.guestTime ? d : undefined;
    }, 180_000, 'qemu-ga in the TCG guest to answer');
    t.match(ga.hostAudit.zone, { name: 'JST', offsetS: 32400 });
    t.match(ga.hostAudit.os, { id: 'debian', family: 'linux' });
    t.match(ga.check, { family: 'linux' }, 'family from guest-get-osinfo: this domain has no libosinfo metadata');
    t.match(ga.verdict.checks.find((c: any) => c.id === 'timezone'), { status: 'pass', reason: /JST \(UTC\+09:00\)/ });
    t.match(ga.verdict.checks.find((c: any) => c.id === 'offset').reason, /^guest agent \(virsh domtime, whole seconds\): offset /);
  } else {
    t.comment(`${QGA} not installed: the guest-agent path is covered by recorded answers (test/libvirt/host-audit.test.ts)`);
  }

  // /metrics: the real RTC reading of the localtime guest, by domain UUID, marked host audit.
  const metrics = await (await pool.request({ method: 'GET', path: '/metrics' })).body.text();
  const rtcLine = new RegExp(`^clockwatch_host_audit_rtc_offset_seconds\\{domain_uuid="${UUID.localtime}"\\} (\\S+)$`, 'm').exec(metrics);
  t.ok(rtcLine && Math.abs(Number(rtcLine[1]) - 28_800) <= 1.5, `/metrics: RTC +28800 s (${rtcLine?.[1]})`);
  t.match(metrics, new RegExp(`clockwatch_host_audit_info\\{domain_uuid="${UUID.localtime}",domain="cw-localtime",evidence="host audit",agent=""\\} 1`));

  const st = await runCliAsync(['status', '--url', served.url, '--json']);
  t.equal(st.code, 0, st.stderr);
  const doc = JSON.parse(st.stdout);
  const row = doc.agents.find((a: any) => a.id === `domain:${UUID.localtime}`);
  t.match(row, { hostname: 'cw-localtime', evidence: 'host audit', status: 'noncompliant' });
  const text = await runCliAsync(['status', '--url', served.url, '--width', '200']);
  t.match(text.stdout, /cw-localtime \(domain:1c0e5a1e-0000-4000-8000-00000000000a\) \[host audit\]/);
  t.match(text.stdout, /RTC \+28(799|800|801) s → \+8\.0 h/, "the host's RTC reading is on the agentless guest's line");
  // status --db with its own host audit pass (libvirt/agentless.ts joins and judges as serve does).
  const fromDb = await runCliAsync(['status', '--db', x('cw.db'), '--libvirt-uri', uri, '--host-audit', 'rtc', '--json']);
  t.equal(fromDb.code, 0, fromDb.stderr);
  const dbRow = JSON.parse(fromDb.stdout).agents.find((a: any) => a.id === `domain:${UUID.localtime}`);
  t.match(dbRow, { hostname: 'cw-localtime', evidence: 'host audit', status: 'noncompliant' }, 'status --db --host-audit');
  t.ok(Math.abs(dbRow.rtcOffsetS - 28_800) <= 1.5, `its RTC as the host read it (${dbRow.rtcOffsetS})`);
  // At 80 columns the name is cut, never the evidence source.
  const narrow = await runCliAsync(['status', '--url', served.url, '--width', '80']);
  t.match(narrow.stdout, /noncompliant cw-localtime \(dom…\s*\[host audit\]|noncompliant cw-localtime.*\[host audit\]/);
});

function readFileSafe(p: string): string {
  try {
    return execFileSync('cat', [p], { encoding: 'utf8' });
  } catch {
    return '';
  }
}
