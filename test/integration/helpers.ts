/**
 * Helpers of the end-to-end tests: the real CLI as a child process (one-shot commands and a served
 * collector on 127.0.0.1:0), a day of samples written through the store, an RFC 4180 reader,
 * Ed25519 keys, and Debian's headless Chromium.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '@clockwatch/shared';
import type { SampleRecord, Store } from '@clockwatch/collector';
import { makeReport, recordOf, repoRoot } from '../collector/helpers.js';
import { consoleMessages, runChromium } from '../helpers/chromium.js';

export { cli, runCli, runCliAsync, serve, until, type Run, type Served } from '../helpers/cli.js';
export const DAY_MS = 86_400_000;
export const MIN_MS = 60_000;
export { parseCsv } from '../helpers/csv.js';
export interface DayAgent {
  id: string;
  hostname: string;
  systemUuid: string;
  /** Offset at minute m of the day. */
  offsetMs: (m: number) => number;
  clocksource?: string;
  /** Reports stop after this minute. */
  untilMinute?: number;
  steps?: { minute: number; stepMs: number }[];
  labels?: Record<string, string>;
}

/** The fleet of the export tests: one agent per way of (not) keeping time over a day. */
export const DAY_AGENTS: DayAgent[] = [
  { id: 'web-ok', hostname: 'web-deb12', systemUuid: '3f5b2c8e-6a1d-4e2f-9b7c-0d4e8a1f2b3c', offsetMs: (m) => 0.4 * Math.sin(m / 37), labels: { site: 'par1', role: 'web' } },
  // Drifts from +10 ms to about +1,450 ms (past the warn and fail limits); NTP stepped it back by 200 ms at noon.
  {
    id: 'db-drift',
    hostname: 'db-alma9',
    systemUuid: '9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68',
    offsetMs: (m) => 10 + m * 1.15 - (m >= 720 ? 200 : 0),
    steps: [{ minute: 720, stepMs: -200 }],
    labels: { site: 'sha1' },
  },
  { id: 'app-tsc', hostname: 'app-rocky9', systemUuid: '2d4f6a8c-0e1b-4d3f-9a5c-7e9b1d3f5a7c', offsetMs: (m) => -3 + (m % 5) * 0.1, clocksource: 'tsc' },
  { id: 'batch-gone', hostname: 'batch-01', systemUuid: '7b2e4d6f-8a0c-4e1f-b3d5-f7a9c1e3b5d7', offsetMs: () => 1.5, untilMinute: 18 * 60 - 1 },
];

/** One report of a DayAgent at minute m of the day starting at dayFromMs. */
export function dayReport(a: DayAgent, dayFromMs: number, m: number): Report {
  const atMs = dayFromMs + m * MIN_MS + 7_000;
  const step = a.steps?.find((s) => s.minute === m);
  const r = makeReport({
    agentId: a.id,
    hostname: a.hostname,
    atMs,
    offsetMs: a.offsetMs(m),
    intervalS: 60,
    clocksource: a.clocksource,
    labels: a.labels ?? {},
    steps: step ? [{ atMs: atMs - 2_000, stepMs: step.stepMs }] : [],
    reportId: `${a.id}-${m}`,
    seq: m,
  });
  r.agent.systemUuid = a.systemUuid;
  return r;
}

/** A day of reports (1/min) for the DAY_AGENTS, written through the store as ingest computes them. */
export async function seedDay(store: Store, dayFromMs: number, agents: DayAgent[] = DAY_AGENTS): Promise<number> {
  let n = 0;
  for (let m = 0; m < 1440; m++) {
    const batch: SampleRecord[] = [];
    for (const a of agents) {
      if (a.untilMinute !== undefined && m > a.untilMinute) continue;
      const r = dayReport(a, dayFromMs, m);
      batch.push(recordOf(r, dayFromMs + m * MIN_MS + 7_050));
    }
    n += batch.length;
    await store.write(batch);
  }
  return n;
}


/** An Ed25519 key pair as PEM files in dir: private.pem (PKCS#8) and public.pem (SPKI). */
export function ed25519Files(dir: string, name = 'export'): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const priv = join(dir, `${name}.key.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey: priv, publicKey: pub };
}

export { CHROMIUM, chromiumSkip } from '../helpers/chromium.js';

/** Loads a file in headless Chromium: the DOM it built, and the console messages it logged for the page. */
export async function chromiumDom(dir: string, url: string): Promise<{ code: number | null; dom: string; console: string[]; stderr: string }> {
  const r = await runChromium(dir, ['--dump-dom', url]);
  return { code: r.code, dom: r.stdout, console: consoleMessages(r.stderr, url), stderr: r.stderr };
}
