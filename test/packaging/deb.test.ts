/**
 * The .deb: its control data and file list (dpkg-deb -I/-c), then a real install into a minimal
 * Debian 12 made by debootstrap from this machine's Debian mirror (with systemd, so that the
 * unit is verified by the guest's own systemd-analyze). Installed, the package has created the user
 * and nothing else: no machine-id, no token, no config, the unit not enabled. The installed
 * executable, in a chroot of that Debian (no node there), prints and reports once to a live
 * collector on 127.0.0.1.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve } from '../integration/helpers.js';
import { buildPackages, debianMirror, missing } from './helpers.js';

// debootstrap downloads and unpacks ~100 packages: minutes on two busy cores.
t.setTimeout(1_200_000);
const skip = missing('dpkg-deb', 'dpkg', 'debootstrap', 'unshare', 'chroot', 'objdump');

const sh = (cmd: string, args: string[], opts: { timeout?: number } = {}) => spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 });

/** Runs `script` in a private mount namespace with /proc mounted in `root` (gone when it exits). */
function inRoot(root: string, script: string) {
  return sh('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', `set -e; mount -t proc proc '${root}/proc'; ${script}`]);
}

t.test('the .deb', { skip }, async (t) => {
  const built = buildPackages(path.join(t.testdir(), 'pkg'), ['sea', 'deb']);
  const deb = built.file('.deb');

  t.test('control data, scripts and file list', async (t) => {
    const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' });
    t.match(control, /^Package: clockwatch-agent$/m);
    t.match(control, new RegExp(`^Version: ${built.info.version}$`, 'm'));
    t.match(control, /^Architecture: amd64$/m);
    t.match(control, new RegExp(`^Depends: libc6 \\(>= ${built.info.glibcFloor.replace('.', '\\.')}\\), libstdc\\+\\+6,`, 'm'), 'glibc floor from the symbol versions');
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const f of ['usr/bin/clockwatch-agent', 'usr/lib/systemd/system/clockwatch-agent.service', 'usr/lib/sysusers.d/clockwatch-agent.conf', 'etc/clockwatch/agent.example.json']) {
      t.match(files, new RegExp(` root/root .* \\./${f.replace(/\./g, '\\.')}$`, 'm'), f);
    }
    t.notMatch(files, /machine-id|agent\.token|\/agent\.json$/m, 'no identity, token or live config');
    const dir = t.testdir();
    execFileSync('dpkg-deb', ['-e', deb, dir]);
    const postinst = readFileSync(path.join(dir, 'postinst'), 'utf8');
    t.match(postinst, /systemd-sysusers \/usr\/lib\/sysusers\.d\/clockwatch-agent\.conf/);
    t.match(postinst, /useradd --system/);
    t.notMatch(postinst, /enable|start|machine-id|token/, 'postinst neither enables nor starts the unit nor makes an identity');
    t.equal(readFileSync(path.join(dir, 'conffiles'), 'utf8'), '/etc/clockwatch/agent.example.json\n');
  });

  t.test('installed into a debootstrapped Debian 12', async (t) => {
    const mirror = debianMirror();
    if (!mirror) {
      t.fail('no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list');
      return;
    }
    const root = mkdtempSync(path.join(os.tmpdir(), 'cw-debootstrap-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    // minbase + systemd: the smallest Debian whose own systemd-analyze can verify the unit.
    const boot = sh('debootstrap', ['--variant=minbase', '--include=systemd', 'bookworm', root, mirror], { timeout: 1_100_000 });
    if (boot.status !== 0) {
      t.fail(`debootstrap bookworm from ${mirror} failed (${boot.status}): ${(boot.stdout + boot.stderr).slice(-2000)}`);
      return;
    }
    const machineIdBefore = existsSync(path.join(root, 'etc/machine-id')) ? readFileSync(path.join(root, 'etc/machine-id'), 'utf8') : null;
    t.notOk(existsSync(path.join(root, 'usr/bin/node')), 'no node in the guest');

    // dpkg --root runs the maintainer scripts chrooted into the root (dpkg(1)).
    const inst = sh('dpkg', ['--root', root, '-i', deb]);
    t.equal(inst.status, 0, `dpkg -i: ${inst.stdout}${inst.stderr}`);
    const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8');
    t.match(passwd, /^clockwatch-agent:x:\d+:\d+:clockwatch agent:\/var\/lib\/clockwatch-agent:\/usr\/sbin\/nologin$/m, 'the user exists');
    const machineIdAfter = existsSync(path.join(root, 'etc/machine-id')) ? readFileSync(path.join(root, 'etc/machine-id'), 'utf8') : null;
    t.equal(machineIdAfter, machineIdBefore, '/etc/machine-id untouched');
    t.notOk(existsSync(path.join(root, 'etc/clockwatch/agent.json')), 'no live config');
    t.notOk(existsSync(path.join(root, 'etc/clockwatch/agent.token')), 'no token');
    t.notOk(existsSync(path.join(root, 'var/lib/clockwatch-agent')), 'no state (no spool, no generated id)');
    const wants = path.join(root, 'etc/systemd/system/multi-user.target.wants');
    t.notOk(existsSync(wants) && readdirSync(wants).some((f) => f.startsWith('clockwatch')), 'the unit is not enabled');
    const enabled = sh('systemctl', ['--root', root, 'is-enabled', 'clockwatch-agent.service']);
    if (enabled.error === undefined) t.equal(enabled.stdout.trim(), 'disabled', 'systemctl --root: disabled');

    const verify = inRoot(root, `chroot '${root}' systemd-analyze verify clockwatch-agent.service`);
    t.equal(verify.status, 0, `systemd-analyze verify in the guest: ${verify.stdout}${verify.stderr}`);
    t.equal(verify.stderr.trim(), '', 'no warnings');

    const print = inRoot(root, `chroot '${root}' sh -c 'command -v node && exit 97; exec /usr/bin/clockwatch-agent --print --id deb-print'`);
    t.equal(print.status, 0, print.stderr);
    t.match(JSON.parse(print.stdout), { agent: { id: 'deb-print' }, os: { distro: 'Debian GNU/Linux', release: '12' } });

    const d = t.testdir();
    const s = await serve(['--db', path.join(d, 'c.db')]);
    t.teardown(() => s.stop());
    const once = inRoot(root, `chroot '${root}' /usr/bin/clockwatch-agent --once --collector ${s.url} --id deb-once --spool /tmp/cw-spool`);
    t.equal(once.status, 0, once.stderr);
    t.match(JSON.parse(once.stdout), { accepted: true, stored: true });

    const rm = sh('dpkg', ['--root', root, '--purge', 'clockwatch-agent']);
    t.equal(rm.status, 0, rm.stderr);
    t.notOk(existsSync(path.join(root, 'usr/bin/clockwatch-agent')), 'purged');
  });
});
