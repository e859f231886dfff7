/**
 * Windows time zone key names → IANA zones, through CLDR's windowsZones mapping
 * (common/supplemental/windowsZones.xml), shipped as windows-zones.json with its CLDR version.
 * Territory "001" is CLDR's default for a Windows zone: what ICU's uprv_detectWindowsTimeZone()
 * (common/wintz.cpp) returns when the user's region has no entry of its own. A service runs as
 * LocalSystem, whose region is not the interactive user's, so the agent maps with "001" unless the
 * caller passes a region (domain.md §8). The reverse direction (an IANA zone → the Windows name
 * `tzutil /s` takes) is what the timezone check's Windows fix needs. Pure data, no I/O.
 */
import data from './windows-zones.json' with { type: 'json' };

interface WindowsZonesData {
  cldrVersion: string;
  source: string;
  sha256: string;
  zones: Record<string, Record<string, string>>;
}

const DATA = data as WindowsZonesData;

export const WINDOWS_ZONES_CLDR_VERSION = DATA.cldrVersion;

/** Every Windows zone name in the mapping. */
export function windowsZoneNames(): string[] {
  return Object.keys(DATA.zones);
}

/** Every territory → IANA ids entry of one Windows zone (for tests and diagnostics). */
export function windowsZoneTerritories(name: string): Record<string, string> | null {
  return Object.hasOwn(DATA.zones, name) ? DATA.zones[name]! : null;
}

/**
 * The IANA zone of a Windows TimeZoneKeyName: the region's first id when the region has an entry,
 * else the "001" default; null when CLDR does not know the name.
 */
export function windowsToIana(name: string, region?: string | null): string | null {
  const t = windowsZoneTerritories(name.trim());
  if (!t) return null;
  const ids = (region && t[region.toUpperCase()]) || t['001'];
  return ids?.split(' ')[0] ?? null;
}

/**
 * The Windows zone name for an IANA zone, as `tzutil /s` takes it: the Windows zone whose "001"
 * default is that zone, else the first (in name order) that lists it for any territory; aliases
 * (Asia/Calcutta for Asia/Kolkata) are matched through Intl's canonical id. null when CLDR has none.
 */
export function ianaToWindows(zone: string): string | null {
  reverse ??= buildReverse();
  const hit = reverse.get(zone) ?? reverse.get(canonical(zone));
  return hit ? (hit.default ?? hit.any) : null;
}

let reverse: Map<string, { default: string | null; any: string | null }> | undefined;

/** Built once, on first use: every IANA id of the data (as written and canonical) → its Windows names. */
function buildReverse(): Map<string, { default: string | null; any: string | null }> {
  const out = new Map<string, { default: string | null; any: string | null }>();
  const add = (id: string, name: string, isDefault: boolean) => {
    for (const key of new Set([id, canonical(id)])) {
      const e = out.get(key) ?? { default: null, any: null };
      if (isDefault) e.default ??= name;
      e.any ??= name;
      out.set(key, e);
    }
  };
  for (const name of Object.keys(DATA.zones).sort()) {
    for (const [territory, ids] of Object.entries(DATA.zones[name]!)) for (const id of ids.split(' ')) add(id, name, territory === '001');
  }
  return out;
}

function canonical(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone;
  }
}
