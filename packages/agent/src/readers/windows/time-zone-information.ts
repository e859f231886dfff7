/**
 * `reg query HKLM\SYSTEM\CurrentControlSet\Control\TimeZoneInformation`: one spawn gives the
 * timezone and the RTC mode of a Windows guest (domain.md §8):
 * - TimeZoneKeyName (REG_SZ, not localised: `China Standard Time`) → IANA through CLDR.
 * - ActiveTimeBias / Bias (REG_DWORD, signed minutes, UTC = local + bias): the offset Windows
 *   applies now and its standard offset. ActiveTimeBias ≠ Bias means daylight time is in effect.
 * - DynamicDaylightTimeDisabled (REG_DWORD 1: "Adjust for daylight saving time automatically" is
 *   off, the clock keeps standard time all year).
 * - RealTimeIsUniversal (REG_DWORD, or REG_QWORD as many guides write it: read either): 1 = RTC in
 *   UTC; absent or 0 = local time, the Windows default. winreg-kb: "not installed in the system by
 *   default and is not officially supported"; util-linux hwclock(8): working from Windows 7 on.
 * The RTC value itself cannot be read on Windows without a kernel driver (no /dev/rtc, no
 * unprivileged CMOS access): the section is an error with CW_ERR_RTC_UNREADABLE and the mode.
 */
import { ErrorCodes, isDst, TZI_KEY, WINDOWS_ZONES_CLDR_VERSION, windowsToIana, zoneOffsetS, type ErrorInfo, type RtcErrorInfo, type RtcModeName, type TimezoneSection } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS, type ReaderContext } from '../../context.js';
import { parseRegQuery, regGet, regInt32, regNumber, regString, type RegKey } from './reg.js';

export { TZI_KEY };

export interface TimeZoneInformation {
  keyName: string | null;
  /** Minutes, UTC = local + bias. */
  biasMin: number | null;
  activeBiasMin: number | null;
  dynamicDstDisabled: boolean | null;
  /** RealTimeIsUniversal as stored: null when absent. */
  realTimeIsUniversal: { value: number | null; type: string; raw: string } | null;
}

export type TziRead = { ok: true; tzi: TimeZoneInformation } | { ok: false; error: ErrorInfo };

export function parseTimeZoneInformation(text: string): TimeZoneInformation | null {
  const key: RegKey | undefined = parseRegQuery(text).find((k) => /\\TimeZoneInformation$/i.test(k.path));
  if (!key) return null;
  const rtiu = regGet(key, 'RealTimeIsUniversal');
  const ddtd = regNumber(regGet(key, 'DynamicDaylightTimeDisabled'));
  return {
    keyName: regString(regGet(key, 'TimeZoneKeyName'))?.trim() || null,
    biasMin: regInt32(regGet(key, 'Bias')),
    activeBiasMin: regInt32(regGet(key, 'ActiveTimeBias')),
    dynamicDstDisabled: ddtd === null ? null : ddtd !== 0,
    realTimeIsUniversal: rtiu ? { value: regNumber(rtiu), type: rtiu.type, raw: rtiu.raw } : null,
  };
}

/** Pure: the RTC mode fields from RealTimeIsUniversal. */
export function windowsRtcMode(tzi: TimeZoneInformation): { mode: RtcModeName | null; detail: string } {
  const r = tzi.realTimeIsUniversal;
  if (!r) return { mode: 'LOCAL', detail: 'absent (Windows default: local time)' };
  if (r.value === null) return { mode: null, detail: `${r.type} ${r.raw}: not a number Windows reads` };
  // Windows reads the value as a boolean: any non-zero value means UTC.
  return { mode: r.value !== 0 ? 'UTC' : 'LOCAL', detail: `${r.type} ${r.raw}` };
}

/** Pure: the rtc section of a Windows guest — no value, the configured mode. */
export function windowsRtcSection(read: TziRead): RtcErrorInfo {
  const error: ErrorInfo = {
    code: ErrorCodes.RTC_UNREADABLE,
    message: 'Windows cannot read the RTC (CMOS clock) without a kernel driver; the configured mode comes from RealTimeIsUniversal',
  };
  if (!read.ok) return { error, mode: null, modeSource: null, modeSources: [{ source: 'RealTimeIsUniversal', mode: null, detail: read.error.message.slice(0, 256) }] };
  const m = windowsRtcMode(read.tzi);
  return { error, mode: m.mode, modeSource: m.mode ? 'RealTimeIsUniversal' : null, modeSources: [{ source: 'RealTimeIsUniversal', mode: m.mode, detail: m.detail }] };
}

/** Pure: the timezone section at an instant. */
export function windowsTimezoneSection(read: TziRead, atMs: number): TimezoneSection {
  if (!read.ok) return { error: read.error };
  const tzi = read.tzi;
  if (!tzi.keyName) return { error: { code: ErrorCodes.PARSE, message: `${TZI_KEY} has no TimeZoneKeyName (Windows before Vista, or a damaged key)` } };
  const name = windowsToIana(tzi.keyName);
  const bias = tzi.activeBiasMin ?? tzi.biasMin;
  const disagreements: string[] = [];
  const sources = [
    { source: 'TimeZoneKeyName', name, detail: `${tzi.keyName}${name ? ` → ${name} (CLDR ${WINDOWS_ZONES_CLDR_VERSION} windowsZones, territory 001)` : `: not in CLDR ${WINDOWS_ZONES_CLDR_VERSION} windowsZones`}` },
  ];
  if (tzi.activeBiasMin !== null || tzi.biasMin !== null) {
    sources.push({ source: 'ActiveTimeBias', name: null, detail: `ActiveTimeBias ${tzi.activeBiasMin ?? '?'} min, Bias ${tzi.biasMin ?? '?'} min (UTC = local + bias)` });
  }
  const intlOffset = name ? zoneOffsetS(name, atMs) : null;
  // The offset Windows applies is ActiveTimeBias; Node's tz database says what the zone should be.
  const offsetS = bias !== null ? -bias * 60 : intlOffset;
  if (offsetS === null || Math.abs(offsetS) > 18 * 3600) {
    return { error: { code: ErrorCodes.PARSE, message: `${TZI_KEY}: no usable bias and ${tzi.keyName} maps to no known zone` } };
  }
  if (tzi.dynamicDstDisabled) {
    disagreements.push('DynamicDaylightTimeDisabled=1: "Adjust for daylight saving time automatically" is off, so Windows keeps standard time all year');
  }
  if (name && intlOffset !== null && bias !== null && intlOffset !== offsetS) {
    disagreements.push(`Windows applies UTC offset ${offsetS} s (ActiveTimeBias), Node's tz database ${intlOffset} s for ${name}: ${tzi.dynamicDstDisabled ? 'daylight saving time is switched off' : "the guest's time zone data is probably outdated"}`);
  }
  const dst = tzi.dynamicDstDisabled ? false : tzi.activeBiasMin !== null && tzi.biasMin !== null ? tzi.activeBiasMin !== tzi.biasMin : name ? isDst(name, atMs) : null;
  return { name, offsetS, abbreviation: null, dst, source: 'TimeZoneKeyName', sources, disagreements };
}

/** One `reg query` of the TimeZoneInformation key: the timezone and the RTC mode come from it. */
export async function readTimeZoneInformation(ctx: ReaderContext): Promise<TziRead> {
  const res = await ctx.run('reg', ['query', TZI_KEY], { timeoutMs: ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS });
  if (res.error === 'ENOENT') return { ok: false, error: { code: ErrorCodes.NOT_FOUND, message: 'reg.exe is not on PATH' } };
  if (res.error === 'TIMEOUT') return { ok: false, error: { code: ErrorCodes.COMMAND_TIMEOUT, message: 'reg query did not answer in time' } };
  if (res.code !== 0 || res.error) {
    const why = `${res.stderr}\n${res.stdout}`.trim().split('\n')[0] ?? '';
    return { ok: false, error: { code: ErrorCodes.COMMAND_FAILED, message: `reg query ${TZI_KEY} exited ${res.code ?? res.error}: ${why.slice(0, 300)}` } };
  }
  const tzi = parseTimeZoneInformation(res.stdout);
  if (!tzi) return { ok: false, error: { code: ErrorCodes.PARSE, message: `reg query printed no ${TZI_KEY} block: ${JSON.stringify(res.stdout.slice(0, 200))}` } };
  return { ok: true, tzi };
}
