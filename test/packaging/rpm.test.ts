/**
 * The .rpm, read with rpm itself: header, file list with modes (rpm -qpl, --dump), the scripts
 * (rpm -qp --scripts) and what it requires. No EL root here: the scripts are the .deb's, whose
 * install the deb test runs for real.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { buildPackages, missing } from './helpers.js';

t.setTimeout(600_000);
const skip = missing('rpm', 'rpmbuild', 'objdump');
const rpm = (...args: string[]) => execFileSync('rpm', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });

t.test('the .rpm', { skip }, async (t) => {
  const built = buildPackages(path.join(t.testdir(), 'pkg'), ['sea', 'rpm']);
  const file = built.file('.rpm');
  t.equal(path.basename(file), `clockwatch-agent-${built.info.version}-1.x86_64.rpm`);

  t.equal(rpm('-qp', '--qf', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}\n', file), `clockwatch-agent ${built.info.version} 1 x86_64\n`);
  t.same(rpm('-qpl', file).trim().split('\n'), [
    '/etc/clockwatch',
    '/etc/clockwatch/agent.example.json',
    '/usr/bin/clockwatch-agent',
    '/usr/lib/systemd/system/clockwatch-agent.service',
    '/usr/lib/sysusers.d/clockwatch-agent.conf',
    '/usr/share/doc/clockwatch-agent/cloud-init-agent.yaml',
  ]);
  // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
  const dump = new Map(rpm('-qp', '--dump', file).trim().split('\n').map((l) => {
    const f = l.split(' ');
    return [f[0], { size: Number(f[1]), mode: f[4], owner: f[5], group: f[6], config: f[7] }] as const;
  }));
  t.match(dump.get('/usr/bin/clockwatch-agent'), { size: built.info.executableBytes, mode: '0100755', owner: 'root', group: 'root', config: '0' }, 'the executable as built: not stripped');
  t.match(dump.get('/etc/clockwatch/agent.example.json'), { mode: '0100644', config: '1' }, 'the example config is a config file');
  t.match(dump.get('/usr/lib/systemd/system/clockwatch-agent.service'), { mode: '0100644' });

  const scripts = rpm('-qp', '--scripts', file);
  t.match(scripts, /^postinstall scriptlet \(using \/bin\/sh\):\n[\s\S]*systemd-sysusers \/usr\/lib\/sysusers\.d\/clockwatch-agent\.conf[\s\S]*useradd --system/m, '%post creates the user');
  t.match(scripts, /^preuninstall scriptlet \(using \/bin\/sh\):\nif \[ "\$1" -eq 0 \]; then\n.*systemctl stop clockwatch-agent\.service/m, '%preun stops it on erase only');
  t.notMatch(scripts, /systemctl (enable|start)|machine-id|token/, 'no scriptlet enables or starts it or makes an identity');

  const requires = rpm('-qpR', file);
  t.match(requires, new RegExp(`^libc\\.so\\.6\\(GLIBC_${built.info.glibcFloor.replace('.', '\\.')}\\)\\(64bit\\)$`, 'm'), 'requires the glibc floor');
  t.notMatch(requires, /GLIBC_2\.(29|3\d)/, 'nothing newer than the floor');
  t.match(requires, /^libstdc\+\+\.so\.6\(\)\(64bit\)$/m);
});
