/**
 * `rtc`: Linux guests keep the RTC in UTC, Windows guests in local time — both the configured mode
 * (/etc/adjtime line 3, /etc/sysconfig/clock UTC=, Windows RealTimeIsUniversal) and the measured
 * rtcOffsetS (the RTC fields read as if UTC, drivers/rtc/sysfs.c) — within the drift limit.
 */
import Type from 'typebox';
import { ErrorCodes } from '../errors.js';
import { platformFamily } from '../measure.js';
import { rtcFixFor } from '../rtc.js';
import { isOk } from '../schema/report.js';
import { judgeWindowsRtc, regAddRealTimeIsUniversal } from './rtc-windows.js';
import { defineCheck, formatSeconds, worstOf, type CheckResult, type CheckStatus } from './types.js';

export interface RtcSettings {
  enabled: boolean;
  expect: 'auto' | 'utc' | 'localtime';
  maxDriftS: number;
}

export const rtcCheck = defineCheck<'rtc', RtcSettings>({
  id: 'rtc',
  title: 'Hardware clock (RTC)',
  policySchema: Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      expect: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('utc'), Type.Literal('localtime')])),
      maxDriftS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, expect: 'auto', maxDriftS: 5 },
  dependsOnNow: false,
  column: 'c_rtc',
  metricLabel: 'rtc',
  runbook: 'docs/checks/rtc.md',
  evaluate({ report, measurement: m, settings: p, libvirt }): CheckResult<'rtc'> {
    const family = platformFamily(report);
    const expect = p.expect === 'auto' ? (family === 'windows' ? 'localtime' : 'utc') : p.expect;
    const fix = rtcFixFor(expect === 'localtime' ? 'windows' : 'linux');
    const who = p.expect === 'auto' ? (family === 'windows' ? 'Windows guests keep' : 'Linux guests keep') : 'policy expects';
    const wantText = expect === 'utc' ? 'UTC' : 'local time';
    const wantMode = expect === 'utc' ? 'UTC' : 'LOCAL';
    const rtc = report.rtc;
    const problems: { status: CheckStatus; text: string }[] = [];

    // Configured mode (/etc/adjtime, /etc/sysconfig/clock, RealTimeIsUniversal).
    const mode = rtc.mode ?? null;
    const configWrong = mode !== null && mode !== wantMode;
    const guestZone = isOk(report.timezone) ? report.timezone.name : null;
    // Windows has no RTC value to read (the agent's section is CW_ERR_RTC_UNREADABLE): judge the
    // configured mode and the joined domain's <clock offset> as a pair (rtc-windows.ts).
    if (family === 'windows' && !isOk(rtc) && rtc.error.code === ErrorCodes.RTC_UNREADABLE) {
      const r = judgeWindowsRtc({ mode, modeSources: rtc.modeSources ?? [], want: wantMode, who, libvirt, guestZone });
      return { id: 'rtc', ...r };
    }
    const el6 = rtc.modeSource === '/etc/sysconfig/clock';
    // The guest-side fix names the file the mode came from: EL6 keeps it in /etc/sysconfig/clock
    // (UTC=true|false, domain.md §3.3) and has no timedatectl; elsewhere line 3 of /etc/adjtime
    // (hwclock(8), adjtime_config(5)) written by timedatectl set-local-rtc.
    const cfgFix =
      family === 'windows'
        ? `RealTimeIsUniversal=${expect === 'utc' ? 1 : 0} in the registry (${regAddRealTimeIsUniversal(expect === 'utc' ? 1 : 0)})`
        : el6
          ? `UTC=${expect === 'utc' ? 'true' : 'false'} in /etc/sysconfig/clock (EL6; then hwclock --systohc --${expect === 'utc' ? 'utc' : 'localtime'})`
          : `'${wantMode}' on line 3 of /etc/adjtime (timedatectl set-local-rtc ${expect === 'utc' ? 0 : 1})`;
    const configText = `${mode} in ${rtc.modeSource ?? 'the configuration'}`;
    // Windows keeps local time; offset='localtime' loads the HOST's local time (QEMU -rtc
    // base=localtime), right only when host and guest share a zone. offset='timezone' names the
    // guest's zone and is right on any host (libvirt formatdomain "Time keeping", domain.md §7).
    const winXml = guestZone && /^[A-Za-z]+\/[A-Za-z0-9_+\-/]+$/.test(guestZone) ? `<clock offset='timezone' timezone='${guestZone}'>` : null;
    const xmlFix = family === 'windows' && expect === 'localtime' ? (winXml ? `${fix} (when the host is in the guest's zone) or ${winXml}` : fix) : fix;
    /** Both changes, in the order that never boots the guest with a mismatched pair. */
    const bothFixes = (xml: string) =>
      family === 'windows'
        ? `set ${xml} in the domain XML and ${cfgFix}`
        : `first, in the guest, set ${cfgFix}; then set ${xml} in the domain XML; then shut the domain down and start it (a reboot from inside keeps QEMU's RTC base). The domain XML alone makes the guest read a UTC RTC as local time and boot off by its zone offset`;
    const modes = new Set((rtc.modeSources ?? []).map((s) => s.mode).filter((x) => x !== null));
    if (modes.size > 1) {
      const list = (rtc.modeSources ?? []).map((s) => `${s.source}=${s.mode ?? '?'}`).join(', ');
      problems.push({ status: 'warn', text: `RTC mode sources disagree (${list})` });
    }

    // What the RTC actually keeps, measured against host UTC. When the configuration explains the
    // reading (Linux guest, LOCAL configured, RTC reads local time) it is one diagnosis, not two.
    let configExplained = false;
    if (!isOk(rtc)) {
      if (rtc.error.code !== ErrorCodes.RTC_ABSENT) {
        problems.push({ status: 'unknown', text: `RTC could not be read: ${rtc.error.message} (${rtc.error.code})` });
      } else if (!configWrong && problems.length === 0) {
        return { id: 'rtc', status: 'pass', reason: `no RTC device in this guest (${rtc.error.message}): nothing can set the clock from a wrong RTC` };
      }
    } else if (m.rtc === null || m.rtcOffsetS === null) {
      problems.push({ status: 'unknown', text: `RTC read, but no offset against the host: ${m.offsetError ?? 'no time exchange'}` });
    } else {
      const a = m.rtc;
      const off = formatSeconds(m.rtcOffsetS);
      const measuredLocal = a.inferred === 'guest-local' || a.inferred === 'guest-standard' || a.inferred === 'guest-dst';
      const drifted = (a.driftS ?? 0) !== 0;
      if (expect === 'utc' && measuredLocal) {
        configExplained = configWrong;
        problems.push({
          status: 'fail',
          text:
            `${a.explanation}${configExplained ? `; ${configText}` : ''}; ` +
            `${who} it in UTC: ${configExplained ? bothFixes(fix) : `set ${fix} in the domain XML`}`,
        });
      } else if (expect === 'localtime' && a.inferred === 'utc') {
        configExplained = configWrong;
        problems.push({
          status: 'fail',
          text: `RTC keeps UTC (rtcOffsetS ${off}${configExplained ? `; ${configText}` : ''}); ${who} it in local time: ${configExplained ? bothFixes(xmlFix) : `set ${xmlFix} in the domain XML`}`,
        });
      } else if (expect === 'localtime' && a.inferred === 'guest-standard') {
        problems.push({ status: 'warn', text: `${a.explanation}: DST is not applied to the RTC` });
      } else if (a.inferred === 'other-offset') {
        const winFix = family === 'windows' && expect === 'localtime' && winXml
          ? `offset='localtime' loads the host's local time, not the guest's: set ${winXml} in the domain XML`
          : `set ${xmlFix} in the domain XML`;
        problems.push({ status: 'fail', text: `${a.explanation}; ${who} it in ${wantText}: ${winFix}` });
      } else if (a.inferred === 'drifting') {
        problems.push({ status: 'fail', text: `${a.explanation} (${p.maxDriftS} s allowed)` });
      } else if (drifted) {
        // The right mode, drifted: the RTC is simply not being written from the synchronised clock.
        problems.push({
          status: 'fail',
          text: `${a.explanation}: write it from the synchronised system clock (hwclock --systohc${expect === 'utc' ? ' --utc' : ' --localtime'}; chrony 'rtcsync' or ntpd's kernel 11-minute mode keeps it so)`,
        });
      }
    }
    if (configWrong && !configExplained) {
      problems.unshift({ status: 'fail', text: `configured RTC mode is ${configText}; ${who} it in ${wantText}: set ${cfgFix}` });
    }
    if (problems.length === 0) {
      const measured = m.rtc ? m.rtc.explanation : 'RTC';
      return { id: 'rtc', status: 'pass', reason: `${measured}; expected ${wantText}${mode ? `, configured ${mode}` : ''}` };
    }
    return { id: 'rtc', status: worstOf(problems), reason: problems.map((x) => x.text).join('; ') };
  },
});
