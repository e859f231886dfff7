/**
 * RTC analysis. The kernel (sysfs `since_epoch`, drivers/rtc/sysfs.c) and systemd-timedated both
 * read the RTC's broken-down fields *as if they were UTC*, so a guest whose RTC keeps local time
 * shows `rtcOffsetS` ≈ its zone's UTC offset. QEMU `-rtc base=localtime` (libvirt
 * `<clock offset='localtime'>`) loads the *host's* local time, which may be yet another offset
 * (domain.md §2.5, §2.6).
 */
import { formatSeconds } from './checks/types.js';
import { formatUtcOffset } from './timezone.js';

/**
 * rtcOffsetS = RTC reading (as if UTC) − host UTC at the same instant.
 * The RTC was read when the guest clock showed `readAtMs`; the host clock then showed
 * readAtMs − offsetMs (offsetMs = guest − host).
 */
export function rtcOffsetS(rtcEpochMs: number, readAtMs: number, offsetMs: number): number {
  return (rtcEpochMs - (readAtMs - offsetMs)) / 1000;
}

export type RtcInference = 'utc' | 'guest-local' | 'guest-standard' | 'guest-dst' | 'other-offset' | 'ambiguous' | 'drifting';

export interface RtcAnalysis {
  inferred: RtcInference;
  /** One line, for humans. */
  explanation: string;
  /**
   * The reading minus the offset it was recognised as (s): an RTC keeping local time that has also
   * drifted is still local time, plus this drift. 0 within the tolerance.
   */
  driftS?: number;
  /** The UTC offset the RTC was recognised as keeping, s. */
  keepsOffsetS?: number;
}

const QUARTER_HOUR_S = 900;

/**
 * Infers what the RTC keeps from the numbers alone: the nearest of UTC, the guest zone's current,
 * standard and summer offsets, or another quarter-hour offset (every zone offset in tzdata since
 * 1972 is a multiple of 15 min) — then how far the reading is from it. An RTC more than the
 * tolerance from its offset is that offset plus drift (a drifted local-time RTC is still local
 * time: one diagnosis, not two); only readings more than 7.5 min from every quarter hour are just
 * "drifting".
 *
 * @param offsetS measured rtcOffsetS
 * @param zoneOffsetS the guest zone's UTC offset at the instant (null when unknown)
 * @param zoneStandardOffsetS the zone's standard (non-DST) offset (hwclock makes no DST adjustment)
 * @param toleranceS how far from a candidate the reading may be (RTC resolution is 1 s, plus drift)
 * @param zoneDstOffsetS the zone's summer offset that year (null: no DST)
 */
export function inferRtcMode(
  offsetS: number,
  zoneOffsetS: number | null,
  zoneStandardOffsetS: number | null,
  toleranceS: number,
  zoneDstOffsetS: number | null = null,
): RtcAnalysis {
  const shown = formatSeconds(offsetS);
  const quarters = Math.round(offsetS / QUARTER_HOUR_S) * QUARTER_HOUR_S;
  // Candidates in order of preference when several are equally near (UTC first: in a UTC zone the
  // guest's local time is UTC too).
  const candidates: { offset: number; kind: RtcInference }[] = [{ offset: 0, kind: 'utc' }];
  if (zoneOffsetS !== null) candidates.push({ offset: zoneOffsetS, kind: 'guest-local' });
  if (zoneStandardOffsetS !== null) candidates.push({ offset: zoneStandardOffsetS, kind: 'guest-standard' });
  if (zoneDstOffsetS !== null) candidates.push({ offset: zoneDstOffsetS, kind: 'guest-dst' });
  if (Math.abs(quarters) <= 18 * 3600) candidates.push({ offset: quarters, kind: 'other-offset' });
  let best = candidates[0]!;
  for (const c of candidates) if (Math.abs(offsetS - c.offset) < Math.abs(offsetS - best.offset) - 1e-9) best = c;
  const driftS = offsetS - best.offset;
  if (Math.abs(driftS) > QUARTER_HOUR_S / 2) {
    return { inferred: 'drifting', explanation: `RTC is ${shown} off UTC, beyond the ${toleranceS} s drift limit and not a timezone offset` };
  }
  const drifted = Math.abs(driftS) > toleranceS;
  const plus = drifted ? `, and it has drifted ${formatSeconds(driftS)} from it, beyond the ${toleranceS} s limit` : '';
  const base = { driftS: drifted ? driftS : 0, keepsOffsetS: best.offset };
  switch (best.kind === 'guest-local' && best.offset === zoneStandardOffsetS && zoneOffsetS !== zoneStandardOffsetS ? 'guest-standard' : best.kind) {
    case 'utc':
      if (zoneOffsetS === 0 && !drifted) {
        return { inferred: 'ambiguous', explanation: `RTC reads UTC (${shown}), and the guest zone is UTC+00:00 now: UTC and local time cannot be told apart`, ...base };
      }
      return { inferred: 'utc', explanation: `RTC keeps UTC (${shown})${plus}`, ...base };
    case 'guest-local':
      return { inferred: 'guest-local', explanation: `RTC keeps the guest's local time (${shown} ≈ ${formatUtcOffset(best.offset)})${plus}`, ...base };
    case 'guest-standard':
      return { inferred: 'guest-standard', explanation: `RTC keeps the guest's local standard time without DST (${shown} ≈ ${formatUtcOffset(best.offset)})${plus}`, ...base };
    case 'guest-dst':
      return {
        inferred: 'guest-dst',
        explanation: `RTC keeps the guest's local summer time (${shown} ≈ ${formatUtcOffset(best.offset)}) although DST has ended: local time written before the change and never updated${plus}`,
        ...base,
      };
    default:
      return {
        inferred: 'other-offset',
        explanation: `RTC is ${formatUtcOffset(best.offset)} off UTC (${shown}), not the guest's zone: it probably keeps the host's local time (QEMU -rtc base=localtime)${plus}`,
        ...base,
      };
  }
}

/** The domain XML line that fixes the RTC for a guest family. */
export function rtcFixFor(family: 'linux' | 'windows'): string {
  return family === 'windows' ? "<clock offset='localtime'>" : "<clock offset='utc'>";
}
