/** Small display helpers shared by the collector's API, exports and terminal status. */

/** '+5000.141 ms ±0.332 ms' */
export function formatOffset(offsetMs: number | null, uncertaintyMs: number | null): string {
  if (offsetMs === null) return 'n/a';
  const o = `${offsetMs >= 0 ? '+' : ''}${offsetMs.toFixed(3)} ms`;
  return uncertaintyMs === null ? o : `${o} ±${uncertaintyMs.toFixed(3)} ms`;
}
