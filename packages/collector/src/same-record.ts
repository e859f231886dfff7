/**
 * Same keys with the same string values, in any order, allocating nothing: an agent's labels (the
 * policy cache, compliance.ts) and its label and check records between two /metrics scrapes
 * (metrics-agents.ts).
 */
export function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}
