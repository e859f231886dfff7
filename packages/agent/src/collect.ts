/**
 * One report: every reader once, the time exchange last (so the agent's own process spawns do not
 * disturb it), and the schema-v1 envelope. Static facts (os, identity) are read once by the
 * caller and passed in.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  SCHEMA_VERSION,
  isOk,
  type AgentInfo,
  type ClockEvent,
  type ClocksourceSection,
  type OsSection,
  type Report,
  type TimeProbeSection,
} from '@clockwatch/shared';
import type { ReaderContext } from './context.js';
import { readClocksource } from './readers/clocksource.js';
import { readNtp } from '@clockwatch/shared/node';
import { readPlatform, readUptimeS } from './readers/platform.js';
import { readRtc, type RtcReadOptions } from './readers/rtc.js';
import { readTimezone } from './readers/timezone.js';
import type { IdentityFacts } from './readers/identity.js';
import { collectWindowsSections, readWindowsStaticFacts } from './readers/windows/collect-windows.js';

export interface StaticFacts {
  os: OsSection;
  /** Windows: the identity comes with the inventory (Linux reads it from files, readers/identity.ts). */
  identity?: IdentityFacts;
}

/** Facts that do not change while the agent runs: read once at start. */
export async function readStaticFacts(ctx: ReaderContext): Promise<StaticFacts> {
  if (ctx.platform === 'win32') return readWindowsStaticFacts(ctx);
  const cs = await readClocksource(ctx.root, ctx.cpuCache);
  try {
    return { os: await readPlatform(ctx.root, isOk(cs) ? cs.available : []) };
  } catch (err) {
    return { os: { error: { code: ErrorCodes.READ, message: `platform facts: ${(err as Error).message}` } } };
  }
}

/** A report id: URL-safe, unique, 32 hex characters. */
export function newReportId(): string {
  return randomUUID().replace(/-/g, '');
}

export interface CollectOptions {
  ctx: ReaderContext;
  agent: AgentInfo;
  static: StaticFacts;
  seq: number;
  reportId?: string;
  /** The exchange to run after the readers, or a fixed section (e.g. CW_ERR_PROBE_SKIPPED for --print). */
  timeProbe: TimeProbeSection | (() => Promise<TimeProbeSection>);
  events?: ClockEvent[];
  rtc?: RtcReadOptions;
}

async function collectLinuxSections(ctx: ReaderContext, epochMs: number, rtcOptions?: RtcReadOptions) {
  const [clocksource, rtc, ntp, timezone] = await Promise.all([
    readClocksource(ctx.root, ctx.cpuCache) as Promise<ClocksourceSection>,
    readRtc(ctx, rtcOptions),
    readNtp(ctx),
    readTimezone(ctx, epochMs),
  ]);
  return { clocksource, rtc, ntp, timezone };
}

export async function collectReport(o: CollectOptions): Promise<Report> {
  const now = o.ctx.nowMs ?? Date.now;
  const epochMs = now();
  const windows = o.ctx.platform === 'win32';
  const [{ clocksource, rtc, ntp, timezone }, uptimeS] = await Promise.all([
    windows ? collectWindowsSections(o.ctx, epochMs) : collectLinuxSections(o.ctx, epochMs, o.rtc),
    windows ? null : readUptimeS(o.ctx.root),
  ]);
  const timeProbe = typeof o.timeProbe === 'function' ? await o.timeProbe() : o.timeProbe;
  return {
    schemaVersion: SCHEMA_VERSION,
    reportId: o.reportId ?? newReportId(),
    seq: o.seq,
    agent: o.agent,
    os: o.static.os,
    clocksource,
    // /proc/uptime of the root; without one (and on Windows: GetTickCount64), the kernel the agent runs on.
    systemTime: { epochMs, uptimeS: uptimeS ?? os.uptime() },
    rtc,
    timezone,
    ntp,
    timeProbe,
    events: (o.events ?? []).slice(-256),
  };
}
