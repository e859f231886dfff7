/**
 * RTC analysis. The kernel (sysfs `since_epoch`, drivers/rtc/sysfs.c) and systemd-timedated both
 * read the RTC's broken-down fields *as if they were UTC*, so a guest whose RTC keeps local time
 * shows `rtcOffsetS` ≈ its zone's UTC offset. QEMU `-rtc base=localtime` (libvirt
 * `<clock offset='localtime'>`) loads the *host's* local time, which may be yet another offset
 * (domain.md §2.5, §2.6).
 */
import { formatUtcOffset } from './timezone.js';

/**
 * rtcOffsetS = RTC reading (as if UTC) − host UTC at the same instant.
 * The RTC was read when the guest clock showed `readAtMs`; the host clock then showed
 * readAtMs − offsetMs (offsetMs = guest − host).
 */
export function rtcOffsetS(rtcEpochMs: number, readAtMs: number, offsetMs: number): number {
  return (rtcEpochMs - (readAtMs - offsetMs)) / 1000;
}

export type RtcInference = 'utc' | 'guest-local' | 'guest-standard' | 'other-offset' | 'ambiguous' | 'drifting';

export interface RtcAnalysis {
  inferred: RtcInference;
  /** One line, for humans. */
  explanation: string;
}

const QUARTER_HOUR_S = 900;

/**
 * Infers what the RTC keeps from the numbers alone.
 *
 * @param offsetS measured rtcOffsetS
 * @param zoneOffsetS the guest zone's UTC offset at the instant (null when unknown)
 * @param zoneStandardOffsetS the zone's standard (non-DST) offset (hwclock makes no DST adjustment)
 * @param toleranceS how far from a candidate the reading may be (RTC resolution is 1 s, plus drift)
 */
export function inferRtcMode(
  offsetS: number,
  zoneOffsetS: number | null,
  zoneStandardOffsetS: number | null,
  toleranceS: number,
): RtcAnalysis {
  const near = (target: number) => Math.abs(offsetS - target) <= toleranceS;
  const rounded = Math.round(offsetS * 10) / 10;
  const shown = rounded === 0 ? '0.0 s' : `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)} s`;
  if (near(0)) {
    if (zoneOffsetS === 0) {
      return {
        inferred: 'ambiguous',
        explanation: `RTC reads UTC (${shown}), and the guest zone is UTC+00:00 now: UTC and local time cannot be told apart`,
      };
    }
    return { inferred: 'utc', explanation: `RTC keeps UTC (${shown})` };
  }
  if (zoneOffsetS !== null && near(zoneOffsetS)) {
    return {
      inferred: 'guest-local',
      explanation: `RTC keeps the guest's local time (${shown} = ${formatUtcOffset(zoneOffsetS)})`,
    };
  }
  if (zoneStandardOffsetS !== null && near(zoneStandardOffsetS)) {
    return {
      inferred: 'guest-standard',
      explanation: `RTC keeps the guest's local standard time without DST (${shown} = ${formatUtcOffset(zoneStandardOffsetS)})`,
    };
  }
  const quarters = Math.round(offsetS / QUARTER_HOUR_S);
  if (quarters !== 0 && Math.abs(quarters) <= 18 * 4 && near(quarters * QUARTER_HOUR_S)) {
    return {
      inferred: 'other-offset',
      explanation: `RTC is ${formatUtcOffset(quarters * QUARTER_HOUR_S)} off UTC (${shown}), not the guest's zone: it probably keeps the host's local time (QEMU -rtc base=localtime)`,
    };
  }
  return {
    inferred: 'drifting',
    explanation: `RTC is ${shown} off UTC, beyond the ${toleranceS} s drift limit and not a timezone offset`,
  };
}

/** The domain XML line that fixes the RTC for a guest family. */
export function rtcFixFor(family: 'linux' | 'windows'): string {
  return family === 'windows' ? "<clock offset='localtime'>" : "<clock offset='utc'>";
}
