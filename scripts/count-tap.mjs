#!/usr/bin/env node
// Counts the real results of a tap run from its raw TAP stream (tap --reporter=tap) and prints the
// closing line CI reads: "N passed, N failed". Every leaf assertion counts once: the point that
// closes a subtest is not counted again, except when the subtest failed with no failing assertion
// of its own (a crash, a timeout, a plan mismatch): that counts as one failure, so a broken file
// can never hide.
import { readFileSync } from 'node:fs';
import { Parser } from 'tap-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: count-tap.mjs RESULTS.tap');
  process.exit(2);
}
const totals = { pass: 0, fail: 0, skip: 0 };
const failures = [];

/** Attaches counters to a parser; returns a getter for the failures found below it. */
function attach(parser, path) {
  let lastChild = null;
  let failedBelow = 0;
  parser.on('child', (child) => {
    lastChild = attach(child, path);
  });
  parser.on('assert', (a) => {
    const name = [...path, a.name].filter(Boolean).join(' > ');
    if (lastChild) {
      // This point closes the subtest whose child parser came just before it.
      const below = lastChild();
      lastChild = null;
      failedBelow += below;
      if (!a.ok && !a.skip && !a.todo && below === 0) {
        totals.fail++;
        failedBelow++;
        failures.push(`${name} (subtest failed without a failing assertion)`);
      }
      return;
    }
    if (a.skip || a.todo) totals.skip++;
    else if (a.ok) totals.pass++;
    else {
      totals.fail++;
      failedBelow++;
      failures.push(name);
    }
  });
  return () => failedBelow;
}

const root = new Parser();
attach(root, []);
root.on('complete', (results) => {
  for (const f of failures.slice(0, 50)) console.log(`FAILED: ${f}`);
  if (totals.pass + totals.fail === 0) {
    console.error('no test ran');
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
    return;
  }
  if (!results.ok && totals.fail === 0) {
    totals.fail = 1; // the run failed (bail-out, missing plan) without a failing point
    console.log('FAILED: the TAP stream did not end ok');
  }
  console.log(`${totals.pass} passed, ${totals.fail} failed${totals.skip ? `, ${totals.skip} skipped` : ''}`);
  if (totals.fail > 0) process.exitCode = 1;
});
root.end(readFileSync(file, 'utf8'));
