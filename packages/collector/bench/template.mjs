// A valid report (the compliant KVM fixture) moved to now, for the benchmarks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export const repo = fileURLToPath(new URL('../../../', import.meta.url));
export function reportNow() {
  const r = JSON.parse(readFileSync(`${repo}test/fixtures/cases/kvm-linux-compliant/report.json`, 'utf8'));
  const d = Date.now() - 1_795_600_000_000;
  r.systemTime.epochMs += d;
  r.rtc.epochMs += d;
  r.rtc.readAtMs += d;
  for (const s of r.timeProbe.samples) for (const k of ['t1', 't2', 't3', 't4']) s[k] += d;
  return r;
}
export const SYNCED = { daemon: 'chronyd', synchronized: true, server: '10.0.0.1', stratum: 2, offsetMs: 0, lastSyncAgeS: 1, pollIntervalS: 64, maxErrorMs: 1 };
