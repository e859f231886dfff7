/**
 * The sections of a Windows guest's report. Per cycle: one `reg query` of TimeZoneInformation
 * (timezone and RTC mode) and `w32tm` (status, configuration): three processes. Once at start: the
 * inventory through systeminformation. Every section this agent cannot read on Windows is an error
 * section, never a default (issue 10 item 6).
 */
import os from 'node:os';
import { ErrorCodes, type ClocksourceSection, type NtpSection, type OsSection, type RtcSection, type TimezoneSection } from '@clockwatch/shared';
import type { ReaderContext } from '../../context.js';
import type { IdentityFacts } from '../identity.js';
import { loadSystemInfo, readWindowsInventory } from './inventory.js';
import { readTimeZoneInformation, windowsRtcSection, windowsTimezoneSection } from './time-zone-information.js';
import { readW32time } from './w32tm.js';

export interface WindowsSections {
  clocksource: ClocksourceSection;
  rtc: RtcSection;
  timezone: TimezoneSection;
  ntp: NtpSection;
}

/** Windows has no Linux clocksource; its timer (hypervclock) is audited in the domain XML. */
export const WINDOWS_CLOCKSOURCE: ClocksourceSection = { error: { code: ErrorCodes.UNSUPPORTED, message: 'Windows has no Linux clocksource (the Hyper-V reference time, hypervclock, is audited in the domain XML)' } };

export async function collectWindowsSections(ctx: ReaderContext, atMs: number): Promise<WindowsSections> {
  const [tzi, ntp] = await Promise.all([readTimeZoneInformation(ctx), readW32time(ctx)]);
  return { clocksource: WINDOWS_CLOCKSOURCE, rtc: windowsRtcSection(tzi), timezone: windowsTimezoneSection(tzi, atMs), ntp };
}

export async function readWindowsStaticFacts(ctx: ReaderContext): Promise<{ os: OsSection; identity: IdentityFacts }> {
  const hostname = os.hostname();
  try {
    const si = await (ctx.sysinfo ?? loadSystemInfo)();
    return await readWindowsInventory(si, hostname);
  } catch (err) {
    return {
      os: { error: { code: ErrorCodes.READ, message: `inventory (systeminformation): ${(err as Error).message}` } },
      identity: { machineId: null, machineIdSource: null, systemUuid: null, hostname },
    };
  }
}
