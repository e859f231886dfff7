/**
 * A live fleet for the observability tests: a real `clockwatch-collector serve` on 127.0.0.1:0
 * over a temp SQLite file, and real reports posted to it over HTTP from agents in different states
 * (compliant, warning, unknown, failing clocksource / RTC / NTP / offset / time zone), plus one
 * refused report so the ingest counters have a code. Also runs promtool (Debian `prometheus`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Report } from '@clockwatch/shared';
import { FIXTURE_BASE_MS, loadCase, makeReport, shift } from '../collector/helpers.js';
import { serve, type Served } from './helpers.js';

export const PROMTOOL = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim() || null;
export const promtoolSkip = PROMTOOL ? false : 'promtool not found: install the Debian prometheus package';

export interface PromtoolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function promtool(args: string[], input?: string, cwd?: string): PromtoolRun {
  const r = spawnSync(PROMTOOL ?? 'promtool', args, { input, cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Fixture case → the agent id, hostname and labels it reports under in the live fleet. */
export const LIVE_AGENTS: { fixture: string; id: string; hostname: string; labels: Record<string, string> }[] = [
  { fixture: 'kvm-linux-compliant', id: 'live-ok', hostname: 'web-01', labels: { site: 'berlin', role: 'web' } },
  { fixture: 'clocksource-tsc', id: 'live-tsc', hostname: 'app-02', labels: { site: 'berlin', 'Team-Name': 'db' } },
  { fixture: 'rtc-localtime-shanghai', id: 'live-rtc', hostname: 'sh-03', labels: { site: 'shanghai' } },
  { fixture: 'ntp-unsynchronised', id: 'live-ntp', hostname: 'ntp-04', labels: {} },
  { fixture: 'offset-guest-ahead-5s', id: 'live-ahead', hostname: 'db-05', labels: { site: 'paris' } },
  { fixture: 'offset-uncertainty-exceeds-limit', id: 'live-noisy', hostname: 'far-06', labels: { site: 'paris' } },
  { fixture: 'rtc-config-conflict', id: 'live-conflict', hostname: 'el6-07', labels: { site: 'paris' } },
  { fixture: 'windows-rtc-localtime', id: 'live-win', hostname: 'WIN-08', labels: { site: 'berlin' } },
  { fixture: 'timezone-offset-mismatch', id: 'live-tz', hostname: 'tz-09', labels: { site: 'berlin' } },
];

/** The fixture report moved to now, under the live agent's identity. */
export function liveReport(a: (typeof LIVE_AGENTS)[number]): Report {
  const c = loadCase(a.fixture);
  const r = shift(c.report, Date.now() - (c.context.receivedAtMs ?? FIXTURE_BASE_MS) - 50);
  r.agent.id = a.id;
  r.agent.hostname = a.hostname;
  r.agent.labels = a.labels;
  r.reportId = `${a.id}-${process.pid}-${Date.now()}`;
  return r;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

export interface LiveFleet {
  served: Served;
  /** The verdict status the collector answered for each live agent id. */
  statuses: Record<string, string>;
  metrics: () => Promise<string>;
}

/** Starts the collector in dir, posts the fleet (one report each, and one refused report). */
export async function liveFleet(dir: string): Promise<LiveFleet> {
  const served = await serve(['--db', join(dir, 'live.db')]);
  const statuses: Record<string, string> = {};
  try {
    for (const a of LIVE_AGENTS) {
      const r = await post(served.url, liveReport(a));
      if (r.status !== 200) throw new Error(`report of ${a.id} answered ${r.status}: ${JSON.stringify(r.body)}`);
      statuses[a.id] = (r.body as { results: { verdict: { status: string } }[] }).results[0]!.verdict.status;
    }
    // A report the schema refuses: the ingest counters get a code and a 400.
    const bad = makeReport({ agentId: 'live-bad', atMs: Date.now() }) as unknown as Record<string, unknown>;
    const refused = await post(served.url, { ...bad, clocksource: { current: 7 } });
    if (refused.status !== 400) throw new Error(`the bad report answered ${refused.status}`);
  } catch (err) {
    await served.stop();
    throw err;
  }
  return {
    served,
    statuses,
    metrics: async () => {
      const res = await fetch(`${served.url}/metrics`);
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return res.text();
    },
  };
}

/**
 * Every metric name a scrape exposes: the sample names, plus each family's name from its TYPE
 * line, with a histogram's `_bucket`, `_sum` and `_count` (and a summary's `_sum`, `_count`)
 * expanded, so a family without observations yet still counts.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (sample && !line.startsWith('#')) names.add(sample[1] as string);
  }
  return names;
}
