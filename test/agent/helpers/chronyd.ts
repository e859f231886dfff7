/**
 * Real `chronyd -x` daemons for the chrony reader tests: found on PATH or in /usr/sbin, started in
 * the foreground on private ports, and stopped by the test's teardown, which waits for the daemon
 * to exit. chronyd writes its drift file and removes its pid file while it exits, so the temporary
 * directory it writes into must not be removed before that.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Test } from 'tap';

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd} || ls /usr/sbin/${cmd} 2>/dev/null`], { encoding: 'utf8' }).trim().split('\n')[0] || null;
  } catch {
    return null;
  }
}
export const chronyd = which('chronyd');
export const chronyc = which('chronyc');
export const chronySkip = chronyd && chronyc ? false : 'chronyd/chronyc not installed (Debian package chrony; .ci/run installs it)';

/** A free UDP port on 127.0.0.1 (bound, read, released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Stops a child and resolves once it has exited (SIGTERM, then SIGKILL after 5 s). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `chronyd -d -x -u root -f conf`: -d stays in the foreground (this test owns the process),
 * -x never adjusts the clock, -u root does not drop privileges to a user that may not own the temp
 * dir. The teardown stops it and waits; the daemon's log is printed if the test failed.
 */
export function startChronyd(t: Test, conf: string, name: string): ChildProcess {
  const child = spawn(chronyd!, ['-d', '-x', '-u', 'root', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  t.teardown(async () => {
    await stopChild(child);
    if (!t.passing()) t.comment(`${name} chronyd log:\n${log}`);
  });
  return child;
}
