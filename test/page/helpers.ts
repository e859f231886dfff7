/**
 * Helpers of the fleet page tests: real agents (`clockwatch-agent --once` on a fixture root, under
 * faketime for a clock offset) reporting to a real collector, and a browser page that records
 * every console message, uncaught error and request it makes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { fixtureRoot, repoRoot } from '../agent/helpers/paths.js';
import { cleanEnv, runCli } from '../agent/helpers/run-cli.js';

export const SCREENSHOTS = join(repoRoot, '.tap', 'screenshots');

export function faketimePath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v faketime'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export interface AgentSpec {
  id: string;
  root: string;
  labels: Record<string, string>;
  /** libfaketime's -f spec, e.g. '+5s': the agent's clock that far ahead (monotonic clock left real). */
  faketime?: string;
}

/** One `clockwatch-agent --once` report of the agent to the collector; resolves with its verdict. */
export async function reportOnce(collectorUrl: string, spoolDir: string, a: AgentSpec): Promise<{ status: string }> {
  const spool = join(spoolDir, a.id);
  mkdirSync(spool, { recursive: true });
  const args = ['--once', '--collector', collectorUrl, '--root', fixtureRoot(a.root), '--spool', spool, '--id', a.id, '--interval', '600', '--samples', '4'];
  for (const [k, v] of Object.entries(a.labels)) args.push('--label', `${k}=${v}`);
  const ft = a.faketime ? faketimePath() : null;
  if (a.faketime && !ft) throw new Error('faketime is not installed');
  const r = await runCli(args, {
    command: ft ? [ft, '-f', a.faketime as string] : [],
    env: cleanEnv(ft ? { FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {}),
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`agent ${a.id} exited ${r.code}:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { verdict: { status: string } }).verdict;
}

export interface Watched {
  page: Page;
  /** console messages of type error or warning, and uncaught exceptions. */
  problems: string[];
  /** Every console message, for the test log. */
  console: string[];
  /** Every URL the browser asked for (pages, scripts, fetches, favicons). */
  requests: string[];
}

export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const w: Watched = { page, problems: [], console: [], requests: [] };
  page.on('console', (m) => {
    const line = `${m.type()}: ${m.text()}`;
    w.console.push(line);
    if (m.type() === 'error' || m.type() === 'warning') w.problems.push(line);
  });
  page.on('pageerror', (err) => w.problems.push(`pageerror: ${err.message}`));
  return w;
}

/** Records every request of the context (all its pages and workers) into `into`. */
export function recordRequests(context: BrowserContext, into: string[]): void {
  context.on('request', (r) => into.push(r.url()));
}
