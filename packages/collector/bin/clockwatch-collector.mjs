#!/usr/bin/env node
// The committed entry point of clockwatch-collector (package.json "bin"). It exists before any build, so
// that after `npm ci` on a fresh clone npm links it and `npx clockwatch-collector` runs this checkout,
// never a package of the same name from a registry. The program itself is ../dist/cli.js (tsc -b).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('clockwatch-collector: not built yet (packages/collector/dist/cli.js is missing): run `npm run build` at the repository root\n');
  process.exit(2);
}
await import(cli.href);
