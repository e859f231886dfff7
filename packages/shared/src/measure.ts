/**
 * What the collector derives from one report: the offset and its uncertainty recomputed from the
 * raw exchange samples (never trusted from the agent), the RTC offset against host UTC and the
 * inferred RTC mode.
 */
import { inferRtcMode, rtcOffsetS, type RtcAnalysis } from './rtc.js';
import { isOk, type Report } from './schema/report.js';
import { measureSamples, NS_PER_S, roundToNs } from './time-math.js';
import { zoneDaylightOffsetS, zoneStandardOffsetS } from './timezone.js';

export interface ReportMeasurement {
  offsetMs: number | null;
  uncertaintyMs: number | null;
  delayMs: number | null;
  /** Why there is no offset, when there is none. */
  offsetError: string | null;
  rtcOffsetS: number | null;
  rtc: RtcAnalysis | null;
  /** Host time at which the collector received the report. */
  receivedAtMs: number;
  /** The collector's own NTP state; false makes every verdict flag the reference as unreliable. */
  hostSynchronized: boolean | null;
}

export interface MeasureOptions {
  receivedAtMs: number;
  /** Resolution of the host's t2/t3 timestamps, ms. */
  hostResolutionMs?: number;
  hostSynchronized?: boolean | null;
  /** Tolerance for the RTC mode inference, s (the policy's rtc.maxDriftS). */
  rtcToleranceS?: number;
}

export function platformFamily(report: Report): 'linux' | 'windows' {
  return isOk(report.os) && report.os.platform === 'win32' ? 'windows' : 'linux';
}

export function measureReport(report: Report, opts: MeasureOptions): ReportMeasurement {
  let offsetMs: number | null = null;
  let uncertaintyMs: number | null = null;
  let delayMs: number | null = null;
  let offsetError: string | null = null;
  const probe = report.timeProbe;
  if (isOk(probe)) {
    // t1/t4 carry the agent's quantisation and t2/t3 the host's: the two add (each side's reading
    // may be off by up to its resolution), so the bound takes their sum, not the larger one.
    const resolution = (probe.resolutionMs ?? 1) + (opts.hostResolutionMs ?? 0.001);
    const m = measureSamples(probe.samples, resolution);
    if (m) {
      offsetMs = m.offsetMs;
      uncertaintyMs = m.uncertaintyMs;
      delayMs = m.delayMs;
    } else {
      offsetError = 'no usable time-exchange sample (every sample had a negative delay)';
    }
  } else {
    offsetError = `no time exchange: ${probe.error.message} (${probe.error.code})`;
  }

  let rtcOff: number | null = null;
  let rtc: RtcAnalysis | null = null;
  const r = report.rtc;
  if (isOk(r) && offsetMs !== null) {
    rtcOff = roundToNs(rtcOffsetS(r.epochMs, r.readAtMs, offsetMs), NS_PER_S);
    const tz = report.timezone;
    const zoneOffset = isOk(tz) ? tz.offsetS : null;
    const std = isOk(tz) && tz.name ? zoneStandardOffsetS(tz.name, report.systemTime.epochMs) : null;
    const dst = isOk(tz) && tz.name ? zoneDaylightOffsetS(tz.name, report.systemTime.epochMs) : null;
    rtc = inferRtcMode(rtcOff, zoneOffset, std, opts.rtcToleranceS ?? 5, dst);
  }
  return {
    offsetMs,
    uncertaintyMs,
    delayMs,
    offsetError,
    rtcOffsetS: rtcOff,
    rtc,
    receivedAtMs: opts.receivedAtMs,
    hostSynchronized: opts.hostSynchronized ?? null,
  };
}
