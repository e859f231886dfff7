#!/usr/bin/env node
// Counts the real results of a tap run from its raw TAP stream (tap --reporter=tap) and prints the
// closing line CI reads: "N passed, N failed". Every assertion counts once: the stream is parsed
// flat (subtests folded into their parents), so a subtest's summary line is not counted again.
// A file that crashed before planning shows as a failure of its parent, so it is counted too.
import { readFileSync } from 'node:fs';
import { Parser } from 'tap-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: count-tap.mjs RESULTS.tap');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
const failures = [];
const parser = new Parser({ flat: true }, (results) => {
  const passed = results.pass;
  const failed = results.fail;
  const skipped = results.skip + results.todo;
  for (const f of failures.slice(0, 50)) console.log(`FAILED: ${f}`);
  if (results.count === 0) {
    console.log('0 passed, 1 failed');
    console.error('no test ran');
    process.exitCode = 1;
    return;
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (failed > 0 || !results.ok) process.exitCode = 1;
});
parser.on('assert', (a) => {
  if (!a.ok && !a.todo && !a.skip) failures.push(a.fullname || a.name || `#${a.id}`);
});
parser.end(text);
