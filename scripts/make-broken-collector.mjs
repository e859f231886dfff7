#!/usr/bin/env node
// Copies of the built collector (packages/collector/dist) with durability or idempotency broken on
// purpose, to check that the fault tests fail against them (and pass against the real build):
//
//   npx tsc -b && node scripts/make-broken-collector.mjs
//   CW_FAULT_COLLECTOR_CLI=$PWD/.tap/broken/reply-before-commit/dist/cli.js npx tap test/fault/kill-under-load.test.ts   # must fail
//   CW_FAULT_COLLECTOR_CLI=$PWD/.tap/broken/no-idempotency/dist/cli.js npx tap test/fault/kill-under-load.test.ts        # must fail
//
// - reply-before-commit: GroupCommitter.submit() resolves at once ('stored' for every record); the
//   group transaction still runs later in setImmediate. A SIGKILL between the reply and the commit
//   loses acknowledged reports.
// - no-idempotency: the store never finds a stored reportId, so a re-send is stored again.
// The copies live under .tap/broken/ (ignored by git); node resolves their imports from the
// repository's node_modules.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const collector = path.join(repo, 'packages/collector');
const out = path.join(repo, '.tap/broken');

const BREAKS = {
  'reply-before-commit': [
    'dist/group-commit.js',
    `        return new Promise((resolve, reject) => {
            this.queue.push({ records, resolve, reject });
            this.schedule();
        });`,
    `        // BROKEN ON PURPOSE: the answer goes out before the commit.
        this.queue.push({ records, resolve: () => { }, reject: () => { } });
        this.schedule();
        return Promise.resolve(records.map(() => 'stored'));`,
  ],
  'no-idempotency': [
    'dist/store/sqlite.js',
    'const same = this.s.findReport.get(contentHash, ridH, rid);',
    'const same = undefined; // BROKEN ON PURPOSE: a stored reportId is never found',
  ],
};

for (const [name, [file, from, to]] of Object.entries(BREAKS)) {
  const dir = path.join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(collector, 'dist'), path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(collector, 'package.json'), path.join(dir, 'package.json'));
  const target = path.join(dir, file);
  const text = readFileSync(target, 'utf8');
  if (!text.includes(from)) {
    console.error(`make-broken-collector: ${file} no longer contains the code to break (${name}); update this script`);
    process.exit(1);
  }
  writeFileSync(target, text.replace(from, to));
  console.log(`${name}: CW_FAULT_COLLECTOR_CLI=${path.join(dir, 'dist/cli.js')}`);
}
