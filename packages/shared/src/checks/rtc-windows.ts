/**
 * The rtc check's Windows half. Windows cannot read the RTC (CMOS clock) without a kernel driver, so
 * a Windows guest's report carries no RTC value, only CW_ERR_RTC_UNREADABLE and the configured mode
 * from `RealTimeIsUniversal` (HKLM\SYSTEM\CurrentControlSet\Control\TimeZoneInformation; 1 = RTC in
 * UTC, absent or 0 = local time, the default — domain.md §8). What the RTC really holds at boot is
 * set by QEMU from the domain's `<clock offset>` (`-rtc base=utc|localtime`, domain.md §7.3), so the
 * judgement is the pair: the registry mode against the expectation and against the base the joined
 * domain gives the RTC. Both halves must change together: a mismatched pair boots Windows off by its
 * zone offset.
 */
import type { LibvirtClock } from '../libvirt.js';
import type { RtcModeSourceInfo } from '../schema/report.js';
import type { CheckStatus, JoinedDomain } from './types.js';

export const TZI_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation';

/** `reg add` of RealTimeIsUniversal as a REG_DWORD (winreg-kb documents the DWORD; domain.md §8). */
export function regAddRealTimeIsUniversal(value: 0 | 1): string {
  return `reg add ${TZI_KEY} /v RealTimeIsUniversal /t REG_DWORD /d ${value} /f`;
}

export type RtcBase = 'UTC' | 'LOCAL';

/**
 * The base a domain's `<clock>` gives the RTC at start (libvirt formatdomain "Time keeping"): UTC
 * for offset='utc' (and the default: no `<clock>`), local time for 'localtime' and 'timezone'
 * (QEMU -rtc base=localtime, with TZ for 'timezone'), per `basis` for 'variable'. null for what is
 * neither (an adjustment, 'absolute', an unknown offset): the libvirt-clock check judges those.
 */
export function domainRtcBase(clock: LibvirtClock | null): RtcBase | null {
  if (clock === null) return 'UTC';
  const adj = clock.adjustment;
  const plain = adj === null || adj === 'reset' || /^[+-]?0+$/.test(adj.trim());
  if (!plain) return null;
  switch (clock.offset) {
    case 'utc':
      return 'UTC';
    case 'localtime':
    case 'timezone':
      return 'LOCAL';
    case 'variable':
      return clock.basis === 'localtime' ? 'LOCAL' : clock.basis === null || clock.basis === 'utc' ? 'UTC' : null;
    default:
      return null;
  }
}

const baseText = (b: RtcBase) => (b === 'UTC' ? 'UTC' : 'local time');

/** The `<clock>` that gives the RTC a base, for the guest's zone when it is a named IANA zone. */
function clockXml(base: RtcBase, guestZone: string | null): string {
  if (base === 'UTC') return "<clock offset='utc'>";
  // offset='localtime' loads the HOST's local time; offset='timezone' names the guest's own zone
  // (libvirt formatdomain "Time keeping", domain.md §7.1).
  const zone = guestZone && /^[A-Za-z]+\/[A-Za-z0-9_+\-/]+$/.test(guestZone) ? ` (or <clock offset='timezone' timezone='${guestZone}'> when the host is in another zone)` : '';
  return `<clock offset='localtime'>${zone}`;
}

/** One pair: the registry value and the domain XML that agree on a base. */
function pairText(base: RtcBase, guestZone: string | null): string {
  return base === 'LOCAL'
    ? `RealTimeIsUniversal=0 (${regAddRealTimeIsUniversal(0)}, or delete the value) with ${clockXml('LOCAL', guestZone)} in the domain XML`
    : `RealTimeIsUniversal=1 (${regAddRealTimeIsUniversal(1)}) with ${clockXml('UTC', guestZone)} in the domain XML`;
}

/**
 * The fix: the expected pair first, the other pair as the alternative, changed together; the XML
 * takes effect when the domain is shut down and started (a reboot from inside keeps QEMU's RTC base).
 */
export function windowsRtcPairFix(want: RtcBase, guestZone: string | null): string {
  const other: RtcBase = want === 'UTC' ? 'LOCAL' : 'UTC';
  return `set ${pairText(want, guestZone)}, or the opposite pair, ${pairText(other, guestZone)}; change both together, then shut the domain down and start it`;
}

export interface WindowsRtcInput {
  /** RealTimeIsUniversal's reading (null when the registry could not be read). */
  mode: RtcBase | null;
  modeSources: readonly RtcModeSourceInfo[];
  want: RtcBase;
  /** 'Windows guests keep' or 'policy expects'. */
  who: string;
  libvirt: JoinedDomain | null;
  guestZone: string | null;
}

/** The verdict of a Windows guest's configured RTC mode, with the joined domain's base when there is one. */
export function judgeWindowsRtc(x: WindowsRtcInput): { status: CheckStatus; reason: string } {
  const unreadable = 'the RTC value cannot be read on Windows (CW_ERR_RTC_UNREADABLE)';
  const detail = x.modeSources.find((s) => s.source === 'RealTimeIsUniversal')?.detail ?? null;
  if (x.mode === null) {
    return { status: 'unknown', reason: `${unreadable}, and RealTimeIsUniversal could not be read either${detail ? ` (${detail})` : ''}: the configured RTC mode is unknown` };
  }
  const cfg = `RealTimeIsUniversal${detail ? ` (${detail})` : ''}`;
  const readsAs = `Windows reads the RTC as ${x.mode === 'UTC' ? 'UTC' : "the guest's local time"}`;
  const fix = windowsRtcPairFix(x.want, x.guestZone);
  const clock = x.libvirt ? x.libvirt.domain.clock : null;
  const base = x.libvirt ? domainRtcBase(clock) : null;
  const written = x.libvirt ? (clock ? `<clock offset='${clock.offset}'${clock.timezone ? ` timezone='${clock.timezone}'` : ''}>` : "no <clock> element (libvirt defaults to offset='utc')") : null;

  if (x.libvirt && base !== null && base !== x.mode) {
    // The pair disagrees: QEMU starts the RTC in one base and Windows reads it as the other.
    return {
      status: 'fail',
      reason: `configured ${x.mode} in ${cfg}: ${readsAs}, but the domain's ${written} starts it at ${baseText(base)}, so Windows boots off by its zone offset; ${x.who} it in ${baseText(x.want)}: ${fix}`,
    };
  }
  if (x.mode !== x.want) {
    const pair = x.libvirt && base === x.mode ? ` and matches the domain's ${written}, so the clock boots right, but` : x.libvirt ? ';' : ' (no domain XML joined to confirm the pair);';
    const unsupported = x.mode === 'UTC' ? ' (RealTimeIsUniversal=1 is not officially supported by Windows, domain.md §8)' : '';
    return {
      // A consistent pair keeps the clock right: only the mode is not the expected one.
      status: x.libvirt && base === x.mode ? 'warn' : 'fail',
      reason: `configured RTC mode is ${x.mode} in ${cfg}${pair} ${x.who} it in ${baseText(x.want)}${unsupported}: ${fix}`,
    };
  }
  const domainPart = !x.libvirt
    ? `; ${unreadable}: the domain's <clock offset> decides what it holds (libvirt-clock, once the host joins the domain)`
    : base === null
      ? `; ${unreadable}, and the domain's ${written} gives it no plain base: libvirt-clock judges it`
      : ` and the domain's ${written} starts it at ${baseText(base)}: the pair agrees; ${unreadable}, the value is libvirt-clock's to judge`;
  return { status: 'pass', reason: `configured ${x.mode} in ${cfg}: ${readsAs}, as ${x.who} it${domainPart}` };
}
