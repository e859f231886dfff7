#!/usr/bin/env node
// Generates src/readers/windows/windows-zones.json from CLDR's windowsZones mapping
// (common/supplemental/windowsZones.xml, published in JSON form as
// supplemental/windowsZones.json of the cldr-core package of unicode-org/cldr-json).
//
//   npm pack cldr-core@48.2.0 && tar xzf cldr-core-48.2.0.tgz
//   node packages/agent/scripts/gen-windows-zones.mjs package/supplemental/windowsZones.json [cldr-core version]
//
// Output: { cldrVersion, source, sha256, zones: { "<Windows TimeZoneKeyName>": { "<territory>": "<IANA ids, space separated>" } } }
// Territory "001" is CLDR's default for the Windows zone (what ICU uses without a region).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [input, pkgVersion = 'unknown'] = process.argv.slice(2);
if (!input) {
  console.error('usage: gen-windows-zones.mjs <windowsZones.json> [cldr-core version]');
  process.exit(2);
}
const bytes = readFileSync(input);
const doc = JSON.parse(bytes.toString('utf8'));
const sup = doc.supplemental;
const zones = {};
for (const { mapZone } of sup.windowsZones.mapTimezones) {
  const name = mapZone._other;
  const territory = mapZone._territory;
  const ids = mapZone._type.trim().split(/\s+/).join(' ');
  (zones[name] ??= {})[territory] = ids;
}
const sorted = Object.fromEntries(Object.keys(zones).sort().map((k) => [k, zones[k]]));
const out = {
  cldrVersion: sup.version._cldrVersion,
  source: `CLDR ${sup.version._cldrVersion} common/supplemental/windowsZones.xml, as supplemental/windowsZones.json of cldr-core ${pkgVersion}`,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  zones: sorted,
};
const dest = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'readers', 'windows', 'windows-zones.json');
writeFileSync(dest, `${JSON.stringify(out, null, 1)}\n`);
console.log(`${dest}: ${Object.keys(sorted).length} Windows zones, CLDR ${out.cldrVersion}`);
