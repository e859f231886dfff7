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

export interface StaticFacts {
  os: OsSection;
}

/** Facts that do not change while the agent runs: read once at start. */
export async function readStaticFacts(ctx: ReaderContext): Promise<StaticFacts> {
  const cs = await readClocksource(ctx.root);
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

export async function collectReport(o: CollectOptions): Promise<Report> {
  const now = o.ctx.nowMs ?? Date.now;
  const epochMs = now();
  const [clocksource, rtc, ntp, uptimeS, timezone] = await Promise.all([
    readClocksource(o.ctx.root) as Promise<ClocksourceSection>,
    readRtc(o.ctx, o.rtc),
    readNtp(o.ctx),
    readUptimeS(o.ctx.root),
    readTimezone(o.ctx, epochMs),
  ]);
  const timeProbe = typeof o.timeProbe === 'function' ? await o.timeProbe() : o.timeProbe;
  return {
    schemaVersion: SCHEMA_VERSION,
    reportId: o.reportId ?? newReportId(),
    seq: o.seq,
    agent: o.agent,
    os: o.static.os,
    clocksource,
    // /proc/uptime of the root; without one, the kernel the agent runs on.
    systemTime: { epochMs, uptimeS: uptimeS ?? os.uptime() },
    rtc,
    timezone,
    ntp,
    timeProbe,
    events: (o.events ?? []).slice(-256),
  };
}
