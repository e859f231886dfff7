/**
 * Debian's headless Chromium for the tests, one home for how it is started: the flags every test
 * uses (no sandbox: tests run as root in CI; no background networking, component updates or sync,
 * so the browser itself makes no request off the machine), a fresh profile per run, and either a
 * one-shot command line (--dump-dom, --screenshot) or a playwright-core session. Never a
 * downloaded browser: executablePath is always /usr/bin/chromium.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumSkip: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium package (apt-get install chromium) to run this test`;

/** The launch flags of every browser test (the user-data dir is added per run). */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] as const;

export interface ChromiumRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const browserEnv = (dir: string) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir, LANG: 'C.UTF-8', TZ: 'UTC' });

/** One Chromium command line (e.g. --dump-dom URL), profile under dir, console logged to stderr. */
export function runChromium(dir: string, args: string[]): Promise<ChromiumRun> {
  const flags = [...CHROMIUM_FLAGS, '--no-default-browser-check', `--user-data-dir=${join(dir, 'profile')}`, '--enable-logging=stderr', '--v=0'];
  return new Promise((resolve) => {
    execFile(CHROMIUM, [...flags, ...args], { env: browserEnv(dir), timeout: 90_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Console messages Chromium logged for one page: `[...:INFO:CONSOLE:1] "message", source: file:///... (1)`. */
export function consoleMessages(stderr: string, url: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /:CONSOLE[:\]]/.test(l) && l.includes(`source: ${url}`))
    .map((l) => /\]\s+"(.*)", source: /.exec(l)?.[1] ?? l);
}

export interface Session {
  context: BrowserContext;
  close: () => Promise<void>;
}

/**
 * A playwright-core session on /usr/bin/chromium with the flags above and a fresh profile
 * (mkdtemp; playwright passes it as --user-data-dir), removed on close.
 */
export async function launchChromium(o: { viewport?: { width: number; height: number } } = {}): Promise<Session> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'cw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    env: browserEnv(profile),
    viewport: o.viewport ?? { width: 1400, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-GB',
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
