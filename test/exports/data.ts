/**
 * A day of export data for five agents, built deterministically: a compliant Linux guest, a Linux
 * guest whose offset crosses the warn and fail limits with a gap while it was down, a Windows guest,
 * a stale agent with nothing in the period, and one whose hostname and labels are hostile.
 */
import type { ExportData, ExportPoint, ExportRow } from '@clockwatch/collector/exports';
import { buildExportData } from '@clockwatch/collector/exports';

export const DAY_FROM = Date.UTC(2026, 10, 24);
export const DAY_TO = Date.UTC(2026, 10, 25);
export const HOSTILE_HOSTNAME = '<script>alert("x")</script>';

function series(everyMin: number, f: (i: number, atMs: number) => ExportPoint | null): ExportPoint[] {
  const out: ExportPoint[] = [];
  for (let t = DAY_FROM, i = 0; t < DAY_TO; t += everyMin * 60_000, i++) {
    const p = f(i, t);
    if (p) out.push(p);
  }
  return out;
}

const base = (over: Partial<ExportRow> & Pick<ExportRow, 'id' | 'hostname' | 'status'>): ExportRow => ({
  systemUuid: null,
  labels: {},
  checks: {},
  offsetMs: null,
  uncertaintyMs: null,
  worstOffsetMs: null,
  worstUncertaintyMs: null,
  rtcOffsetS: null,
  rtcMode: null,
  clocksource: null,
  timezone: null,
  ntp: { daemon: null, synchronized: null, server: null },
  compliantShare: null,
  driftPpm: null,
  lastReportMs: null,
  series: [],
  ...over,
});

export function dayOfData(): ExportData {
  const webSeries = series(5, (i, atMs) => ({ atMs, offsetMs: 0.2 * Math.sin(i / 9), uncertaintyMs: 0.35 + (i % 7) * 0.01 }));
  // Drifts from +50 ms to +1550 ms; no reports between 10:00 and 12:00.
  const dbSeries = series(5, (i, atMs) => {
    const h = (atMs - DAY_FROM) / 3_600_000;
    if (h >= 10 && h < 12) return null;
    return { atMs, offsetMs: 50 + (1500 * (atMs - DAY_FROM)) / (DAY_TO - DAY_FROM), uncertaintyMs: 2 + (i % 5) * 3 };
  });
  const last = <T>(xs: T[]) => xs[xs.length - 1] as T;
  const worst = (xs: ExportPoint[]) => xs.reduce((a, b) => (Math.abs(b.offsetMs) > Math.abs(a.offsetMs) ? b : a));
  const rows: ExportRow[] = [
    base({
      id: 'b1e0c7a2f3d94c58a6e2d1f0c9b8a7e6',
      hostname: 'web-deb12',
      systemUuid: '3f5b2c8e-6a1d-4e2f-9b7c-0d4e8a1f2b3c',
      labels: { site: 'par1', role: 'web' },
      status: 'compliant',
      checks: { clocksource: 'pass', offset: 'pass', rtc: 'pass', timezone: 'pass', ntp: 'pass', reporting: 'pass', 'libvirt-clock': 'pass' },
      offsetMs: last(webSeries).offsetMs,
      uncertaintyMs: last(webSeries).uncertaintyMs,
      worstOffsetMs: worst(webSeries).offsetMs,
      worstUncertaintyMs: worst(webSeries).uncertaintyMs,
      rtcOffsetS: 0.4,
      rtcMode: 'UTC',
      clocksource: 'kvm-clock',
      timezone: 'Europe/Paris',
      ntp: { daemon: 'chronyd', synchronized: true, server: '10.0.0.1' },
      compliantShare: 1,
      driftPpm: 0.012,
      lastReportMs: last(webSeries).atMs,
      series: webSeries,
    }),
    base({
      id: 'db-alma9',
      hostname: 'db-alma9',
      systemUuid: '9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68',
      labels: { site: 'sha1' },
      status: 'noncompliant',
      checks: { clocksource: 'pass', offset: 'fail', rtc: 'fail', timezone: 'pass', ntp: 'fail', reporting: 'pass', 'libvirt-clock': 'fail' },
      reasons: {
        offset: 'offset +1544.8 ms ±14.000 ms: beyond the 1000 ms limit (guest ahead of the host)',
        rtc: "RTC keeps local time (rtcOffsetS +28800 s, the guest's zone offset); Linux guests keep it in UTC: set <clock offset='utc'> in the domain XML",
        ntp: 'chronyd runs but is not synchronised (last server 10.0.0.1)',
        'libvirt-clock': "configured <clock offset='localtime'> explains the RTC reading +28800 s (the host's local time, UTC+08:00); set <clock offset='utc'>",
      },
      offsetMs: last(dbSeries).offsetMs,
      uncertaintyMs: last(dbSeries).uncertaintyMs,
      worstOffsetMs: worst(dbSeries).offsetMs,
      worstUncertaintyMs: worst(dbSeries).uncertaintyMs,
      rtcOffsetS: 28800.4,
      rtcMode: 'UTC',
      clocksource: 'kvm-clock',
      timezone: 'Asia/Shanghai',
      ntp: { daemon: 'chronyd', synchronized: false, server: '10.0.0.1' },
      compliantShare: 0.3125,
      driftPpm: 17.361,
      lastReportMs: last(dbSeries).atMs,
      series: dbSeries,
    }),
    base({
      id: 'dc01',
      hostname: 'dc01-win2k22',
      systemUuid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
      labels: { os: 'windows' },
      status: 'compliant',
      checks: { offset: 'pass', rtc: 'pass', timezone: 'pass', ntp: 'pass', reporting: 'pass', 'libvirt-clock': 'pass' },
      offsetMs: -3.25,
      uncertaintyMs: 1.5,
      worstOffsetMs: -12.5,
      worstUncertaintyMs: 2.25,
      rtcOffsetS: 28800,
      rtcMode: 'LOCAL',
      timezone: 'Asia/Shanghai',
      ntp: { daemon: 'w32time', synchronized: true, server: 'dc00.corp.example' },
      compliantShare: 0.9993055555555556,
      driftPpm: -0.5,
      lastReportMs: DAY_TO - 30_000,
      series: series(60, (_i, atMs) => ({ atMs, offsetMs: -3, uncertaintyMs: 1.5 })),
    }),
    base({ id: 'old-build', hostname: 'old-build', status: 'stale', checks: { reporting: 'fail' }, reasons: { reporting: 'no report for 3.0 d' }, lastReportMs: DAY_FROM - 3 * 86_400_000 }),
    base({
      id: 'evil-1',
      hostname: HOSTILE_HOSTNAME,
      labels: { note: '=HYPERLINK("http://attacker.example","click")', owner: '"ops", night shift\r\nline 2', tag: '@SUM(1+1)', x: '+1', y: '-1' },
      status: 'warning',
      checks: { offset: 'warn', ntp: 'pass' },
      reasons: { offset: 'offset <img src=x onerror=alert(1)> ms' },
      offsetMs: -150.5,
      uncertaintyMs: 0.5,
      worstOffsetMs: -150.5,
      worstUncertaintyMs: 0.5,
      clocksource: '=cmd|"/c calc"!A1',
      timezone: 'UTC',
      ntp: { daemon: 'chronyd', synchronized: true, server: '-evil' },
      compliantShare: 0.5,
      driftPpm: -2,
      lastReportMs: DAY_TO - 60_000,
      series: [{ atMs: DAY_TO - 60_000, offsetMs: -150.5, uncertaintyMs: 0.5 }],
    }),
  ];
  return buildExportData({ period: { fromMs: DAY_FROM, toMs: DAY_TO }, generatedAtMs: DAY_TO + 30_000, limits: { warnMs: 100, failMs: 1000 }, rows });
}

export { parseCsv } from '../helpers/csv.js';
