/** The collector README documents what the code has: every CSV column, every command, the export and libvirt options. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CSV_COLUMNS } from '@clockwatch/collector/exports';
import { COMMANDS } from '@clockwatch/collector/commands';
import { repoRoot } from '../collector/helpers.js';

const readme = readFileSync(join(repoRoot, 'packages', 'collector', 'README.md'), 'utf8');

t.test('README: CSV columns, commands, options', async (t) => {
  for (const c of CSV_COLUMNS) t.ok(readme.includes(`\`${c.name}\``), `column ${c.name}`);
  for (const c of COMMANDS) t.ok(readme.includes(`clockwatch-collector ${c.name}`), `command ${c.name}`);
  for (const o of ['--export-dir', '--export-every', '--export-keep', '--export-key', '--libvirt-xml-dir', '--libvirt-uri', '--libvirt-refresh', '--public-key', 'NO_COLOR']) t.ok(readme.includes(o), o);
});
