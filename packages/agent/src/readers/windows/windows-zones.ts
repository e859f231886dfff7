/**
 * Windows time zone key names → IANA zones, through CLDR's windowsZones mapping
 * (common/supplemental/windowsZones.xml), shipped as windows-zones.json with its CLDR version.
 * Territory "001" is CLDR's default for a Windows zone: what ICU's uprv_detectWindowsTimeZone()
 * (common/wintz.cpp) returns when the user's region has no entry of its own. A service runs as
 * LocalSystem, whose region is not the interactive user's, so the agent maps with "001" unless the
 * caller passes a region (domain.md §8).
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
