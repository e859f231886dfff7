// The agent's OS packages: one staged file tree, then a .deb (dpkg-deb, from Debian's dpkg-dev
// tools), an .rpm (rpmbuild, from Debian's rpm package) and a tarball of the same tree.
// Installing never starts the agent and never creates an identity: the user is created, the unit
// is installed disabled (ConditionPathExists=/etc/clockwatch/agent.json), /etc/machine-id and the
// token are the guest's own (see README.md, "Installing the agent in a VM image").
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const NAME = 'clockwatch-agent';

/** Where each file goes in a guest; the tests check these paths in every package. */
export const LAYOUT = [
  { to: 'usr/bin/clockwatch-agent', from: 'executable', mode: 0o755 },
  { to: 'usr/lib/systemd/system/clockwatch-agent.service', from: 'deploy/clockwatch-agent.service', mode: 0o644 },
  { to: 'usr/lib/sysusers.d/clockwatch-agent.conf', from: 'deploy/clockwatch-agent.sysusers.conf', mode: 0o644 },
  { to: 'etc/clockwatch/agent.example.json', from: 'deploy/agent.example.json', mode: 0o644, config: true },
  { to: 'usr/share/doc/clockwatch-agent/cloud-init-agent.yaml', from: 'deploy/cloud-init-agent.yaml', mode: 0o644 },
];

const SUMMARY = 'reports a guest clock state to a clockwatch collector';
const DESCRIPTION =
  'clockwatch-agent measures this guest clocksource, system clock, RTC and its mode, timezone and\n' +
  'NTP state against a clockwatch collector. A single executable: no Node.js runtime needed.';

/**
 * Creates the user (systemd-sysusers when there is one, else useradd), reloads systemd when it
 * runs. It does not enable or start the unit: a template image must not report under the
 * template's identity (/etc/machine-id) before its first boot.
 */
const CREATE_USER = `if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/clockwatch-agent.conf || true
fi
if ! getent passwd clockwatch-agent >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/clockwatch-agent --no-create-home \\
    --shell /usr/sbin/nologin --comment "clockwatch agent" clockwatch-agent
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi`;
const STOP_UNIT = `if [ -d /run/systemd/system ]; then systemctl stop clockwatch-agent.service >/dev/null 2>&1 || true; fi`;
const RELOAD = `if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi`;

/** Copies the executable and deploy/ files into `stageDir` (root-relative paths). */
export function stageTree({ root, executable, stageDir }) {
  rmSync(stageDir, { recursive: true, force: true });
  for (const f of LAYOUT) {
    const dest = path.join(stageDir, f.to);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(f.from === 'executable' ? executable : path.join(root, f.from), dest);
    chmodSync(dest, f.mode);
  }
  return stageDir;
}

/** Debian architecture / RPM architecture of this build (the executable is this node's arch). */
export function archNames(nodeArch = process.arch) {
  const map = { x64: ['amd64', 'x86_64'], arm64: ['arm64', 'aarch64'] };
  const a = map[nodeArch];
  if (!a) throw new Error(`no package architecture for node arch ${nodeArch}`);
  return { deb: a[0], rpm: a[1], tar: nodeArch };
}

/** dpkg-deb --build of the staged tree; compress 'fast' (gzip) for tests, 'best' (xz) for release. */
export function buildDeb({ stageDir, workDir, outDir, version, glibc, compress = 'best' }) {
  const arch = archNames().deb;
  const pkgRoot = path.join(workDir, 'deb-root');
  rmSync(pkgRoot, { recursive: true, force: true });
  execFileSync('cp', ['-a', `${stageDir}/.`, pkgRoot]);
  const debian = path.join(pkgRoot, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  const installedKiB = Math.ceil(Number(execFileSync('du', ['-sk', '--exclude=DEBIAN', pkgRoot], { encoding: 'utf8' }).split('\t')[0]));
  // deb-control(5). The executable carries Node but links glibc and libstdc++ dynamically
  // (readelf -d: libc, libm, libdl, libpthread, libstdc++, libgcc_s).
  const control = [
    `Package: ${NAME}`,
    `Version: ${version}`,
    `Architecture: ${arch}`,
    'Maintainer: clockwatch <clockwatch@localhost>',
    `Installed-Size: ${installedKiB}`,
    `Depends: libc6 (>= ${glibc}), libstdc++6, libgcc-s1 | libgcc1, passwd`,
    'Section: admin',
    'Priority: optional',
    `Description: ${SUMMARY}`,
    ...DESCRIPTION.split('\n').map((l) => ` ${l}`),
    '',
  ].join('\n');
  writeFileSync(path.join(debian, 'control'), control);
  writeFileSync(path.join(debian, 'conffiles'), LAYOUT.filter((f) => f.config).map((f) => `/${f.to}\n`).join(''));
  const script = (name, body) => {
    writeFileSync(path.join(debian, name), `#!/bin/sh\nset -e\n${body}\nexit 0\n`);
    chmodSync(path.join(debian, name), 0o755);
  };
  script('postinst', `if [ "$1" = configure ]; then\n${CREATE_USER}\nfi`);
  script('prerm', `if [ "$1" = remove ]; then\n${STOP_UNIT}\nfi`);
  script('postrm', RELOAD);
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `${NAME}_${version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compress === 'fast' ? 'gzip' : 'xz'}`, ...(compress === 'fast' ? ['-z1'] : []), '--build', pkgRoot, out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return out;
}

/** rpmbuild -bb of a spec that takes the staged tree as it is (no strip: the SEA blob is a note section). */
export function buildRpm({ stageDir, workDir, outDir, version, compress = 'best' }) {
  const arch = archNames().rpm;
  const top = path.join(workDir, 'rpm');
  rmSync(top, { recursive: true, force: true });
  for (const d of ['BUILD', 'RPMS', 'SOURCES', 'SPECS', 'SRPMS', 'BUILDROOT']) mkdirSync(path.join(top, d), { recursive: true });
  const files = LAYOUT.map((f) => {
    const attr = `%attr(${f.mode.toString(8).padStart(4, '0')},root,root)`;
    return f.config ? `%config(noreplace) ${attr} /${f.to}` : `${attr} /${f.to}`;
  });
  const spec = `Name: ${NAME}
Version: ${version}
Release: 1
Summary: ${SUMMARY}
License: UNLICENSED
BuildArch: ${arch}
Requires(post): shadow-utils
AutoReqProv: yes
# No debuginfo split, no strip, no build-id links, no brp scripts: they would rewrite the single
# executable and drop the injected NODE_SEA_BLOB.
%global debug_package %{nil}
%global __strip /bin/true
%global __os_install_post %{nil}
%global _build_id_links none
%global _binary_payload ${compress === 'fast' ? 'w1.gzdio' : 'w9.xzdio'}

%description
${DESCRIPTION}

%install
mkdir -p %{buildroot}
cp -a ${stageDir}/. %{buildroot}/
%{__install} -d -m 0755 %{buildroot}/etc/clockwatch

%post
${CREATE_USER}

%preun
if [ "$1" -eq 0 ]; then
${STOP_UNIT}
fi

%postun
${RELOAD}

%files
%dir /etc/clockwatch
${files.join('\n')}
`;
  const specFile = path.join(top, 'SPECS', `${NAME}.spec`);
  writeFileSync(specFile, spec);
  execFileSync('rpmbuild', ['-bb', '--nodeps', '--quiet', '--define', `_topdir ${top}`, '--target', arch, specFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  mkdirSync(outDir, { recursive: true });
  const built = path.join(top, 'RPMS', arch, `${NAME}-${version}-1.${arch}.rpm`);
  const out = path.join(outDir, path.basename(built));
  renameSync(built, out);
  return out;
}

/** The same tree as a tarball: `tar -xzf FILE --strip-components=1 -C /` installs it. */
export function buildTar({ stageDir, outDir, version }) {
  const base = `${NAME}-${version}-linux-${archNames().tar}`;
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `${base}.tar.gz`);
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-czf', out, `--transform=s,^\\.,${base},`, '-C', stageDir, '.']);
  return out;
}

/** Reads the agent version (one source: packages/agent/package.json). */
export function agentVersion(root) {
  return JSON.parse(readFileSync(path.join(root, 'packages/agent/package.json'), 'utf8')).version;
}
