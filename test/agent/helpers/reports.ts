import { SCHEMA_VERSION, type Report } from '@clockwatch/shared';

/** A minimal valid report (schema v1) for spool and transport tests. */
export function makeReport(seq: number, over: Partial<Report> = {}): Report {
  return {
    schemaVersion: SCHEMA_VERSION,
    reportId: `r${String(seq).padStart(8, '0')}x${Math.random().toString(36).slice(2, 10)}`,
    seq,
    agent: { id: 'test-agent', hostname: 'h', version: '0.1.0', systemUuid: null, labels: {}, intervalS: 60 },
    os: { error: { code: 'CW_ERR_READ', message: 'not read in this test' } },
    clocksource: { current: 'kvm-clock', available: ['kvm-clock'] },
    systemTime: { epochMs: 1795606593000 + seq, uptimeS: 1 },
    rtc: { error: { code: 'CW_ERR_RTC_ABSENT', message: 'none' } },
    timezone: { error: { code: 'CW_ERR_READ', message: 'not read in this test' } },
    ntp: { error: { code: 'CW_ERR_READ', message: 'not read in this test' } },
    timeProbe: { error: { code: 'CW_ERR_PROBE_SKIPPED', message: 'test' } },
    events: [],
    ...over,
  };
}
