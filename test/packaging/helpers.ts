/**
 * Helpers of the packaging tests: tool detection (a test is skipped only when a tool is really
 * missing, and .ci/run installs them all), `npm run package` into a temp dir, and a mount
 * namespace in which no `node` exists.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../agent/helpers/paths.js';

export { repoRoot };

/** The Debian package each tool comes from (what .ci/run installs). */
const TOOL_PACKAGES: Record<string, string> = {
  'dpkg-deb': 'dpkg-dev',
  dpkg: 'dpkg',
  rpm: 'rpm',
  rpmbuild: 'rpm',
  debootstrap: 'debootstrap',
  'systemd-analyze': 'systemd',
  unshare: 'util-linux',
  objdump: 'binutils',
  openssl: 'openssl',
};

export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** false when every tool is there, else the skip reason naming the missing ones and their packages. */
export function missing(...tools: string[]): false | string {
  const gone = tools.filter((x) => !has(x));
  if (gone.length === 0) return false;
  return `missing ${gone.join(', ')} (apt-get install ${[...new Set(gone.map((x) => TOOL_PACKAGES[x] ?? x))].join(' ')})`;
}

export interface PackageInfo {
  version: string;
  glibcFloor: string;
  executableBytes: number;
  files: { file: string; bytes: number; sha256: string }[];
}

export interface Built {
  dir: string;
  info: PackageInfo;
  executable: string;
  file: (suffix: string) => string;
}

/**
 * `npm run package -- --out DIR --only PARTS --compress fast --no-build` (the tests run after
 * `tsc -b`; gzip instead of xz keeps the build short, the layout and scripts are the same).
 */
export function buildPackages(dir: string, parts: string[]): Built {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/package.mjs'), '--out', dir, '--only', parts.join(','), '--compress', 'fast', '--no-build'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`npm run package failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const info = JSON.parse(readFileSync(path.join(dir, 'package-info.json'), 'utf8')) as PackageInfo;
  const file = (suffix: string) => {
    const f = info.files.find((x) => x.file.endsWith(suffix));
    if (!f) throw new Error(`no *${suffix} in ${dir}`);
    return path.join(dir, f.file);
  };
  return { dir, info, executable: file('linux-x64'), file };
}

/**
 * The directories to hide so that no `node` can be run: every directory of PATH (and the usual
 * install places) holding a node, resolved. The one holding `mount` goes last, since mounting
 * over it hides mount itself.
 */
function nodeDirs(): string[] {
  const candidates = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin', '/bin', '/opt/node/bin', path.dirname(process.execPath)];
  const dirs = new Set<string>();
  for (const d of candidates) {
    if (d && existsSync(path.join(d, 'node'))) dirs.add(realpathSync(d));
  }
  const mountDir = realpathSync(path.dirname(execFileSync('sh', ['-c', 'command -v mount'], { encoding: 'utf8' }).trim()));
  return [...dirs].sort((a, b) => Number(a === mountDir) - Number(b === mountDir));
}

/** Why the no-node namespace cannot be made here, or false. */
export function noNodeSkip(): false | string {
  const tools = missing('unshare');
  if (tools) return tools;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs cw-probe /mnt'], { encoding: 'utf8' });
  return r.status === 0 ? false : `cannot make a mount namespace here (unshare --mount: ${r.stderr.trim()})`;
}

/**
 * The command line that runs `exe args...` in a private mount namespace where an empty, read-only
 * tmpfs covers every directory that held a node (so /usr/bin/node and any node on PATH are gone);
 * the script first proves that, and exits 97 if a node is still reachable.
 */
export function withoutNode(exe: string, args: string[]): [string, string[]] {
  const mounts = nodeDirs().map((d) => `mount -t tmpfs -o ro,mode=0755 cw-no-node '${d}'`);
  const script = [
    'set -e',
    ...mounts,
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'export PATH',
    'if command -v node >/dev/null 2>&1 || [ -e /usr/bin/node ] || [ -e /usr/local/bin/node ]; then echo "a node is still reachable" >&2; exit 97; fi',
    'exec "$@"',
  ].join('\n');
  return ['unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', exe, ...args]];
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runWithoutNode(exe: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const [cmd, argv] = withoutNode(exe, args);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function spawnWithoutNode(exe: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const [cmd, argv] = withoutNode(exe, args);
  return spawn(cmd, argv, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The Debian mirror this machine's apt uses (deb822 or one-line sources), for debootstrap. */
export function debianMirror(): string | null {
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(text);
    if (m?.[1]) return m[1];
  }
  return null;
}
