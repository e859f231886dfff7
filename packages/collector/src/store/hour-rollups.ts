/**
 * A batch's hourly rollups, aggregated per (agent, hour) before they are upserted, so that a spool
 * flush of many reports of one agent writes each hour once (and PostgreSQL gets no key twice in one
 * statement). Both stores add the batch's rollup to the stored one (n, counts and sums added, min
 * and max combined). The drift fit's sums (drift-sums.ts) are over dt = at_ms − hour_ms in whole ms.
 */
import { HOUR_MS, type AgentStatus } from '@clockwatch/shared';

export interface HourRollup {
  agentKey: number;
  hourMs: number;
  n: number;
  nOffset: number;
  offsetMin: number | null;
  offsetMax: number | null;
  offsetSum: number | null;
  uncMax: number | null;
  nCompliant: number;
  dtSumMs: number;
  dtSqSumMs2: number;
  dtOffsetSumMs2: number;
}

export class HourRollups {
  private readonly byKey = new Map<string, HourRollup>();

  /** One stored sample; `atMs` in whole ms, as the sample row holds it. */
  add(agentKey: number, atMs: number, status: AgentStatus, offsetMs: number | null, uncertaintyMs: number | null): void {
    const hourMs = Math.floor(atMs / HOUR_MS) * HOUR_MS;
    const k = `${agentKey}:${hourMs}`;
    let x = this.byKey.get(k);
    if (!x) {
      x = { agentKey, hourMs, n: 0, nOffset: 0, offsetMin: null, offsetMax: null, offsetSum: null, uncMax: null, nCompliant: 0, dtSumMs: 0, dtSqSumMs2: 0, dtOffsetSumMs2: 0 };
      this.byKey.set(k, x);
    }
    x.n++;
    if (status === 'compliant') x.nCompliant++;
    if (offsetMs !== null) {
      x.nOffset++;
      x.offsetMin = x.offsetMin === null ? offsetMs : Math.min(x.offsetMin, offsetMs);
      x.offsetMax = x.offsetMax === null ? offsetMs : Math.max(x.offsetMax, offsetMs);
      x.offsetSum = (x.offsetSum ?? 0) + offsetMs;
      const dt = atMs - hourMs;
      x.dtSumMs += dt;
      x.dtSqSumMs2 += dt * dt;
      x.dtOffsetSumMs2 += dt * offsetMs;
    }
    if (uncertaintyMs !== null) x.uncMax = x.uncMax === null ? uncertaintyMs : Math.max(x.uncMax, uncertaintyMs);
  }

  values(): IterableIterator<HourRollup> {
    return this.byKey.values();
  }
}
