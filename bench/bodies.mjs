// Report bodies for the ingest load: the real fixture reports (test/fixtures/cases/*/report.json,
// 19 guests in as many states), moved to now, each request from one of `agents` distinct agents with
// its own reportId and seq — what a fleet's agents send (the agent posts an array: its spool).
// Bodies are built by concatenating pre-serialised pieces, so the load generator spends
// microseconds per request, not a JSON.stringify of the report.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repo } from './lib.mjs';

const FIXTURE_BASE_MS = 1_795_600_000_000;
const casesDir = path.join(repo, 'test/fixtures/cases');

export function loadCases() {
  return loadCasesByName().map((c) => c.report);
}

/** The fixture reports with their case names, in name order. */
export function loadCasesByName() {
  return readdirSync(casesDir)
    .sort()
    .map((name) => ({ name, report: JSON.parse(readFileSync(path.join(casesDir, name, 'report.json'), 'utf8')) }));
}

/** Shifts every instant of a report (the clocks keep their offsets to each other). */
export function shiftReport(r, deltaMs) {
  r.systemTime.epochMs += deltaMs;
  if (typeof r.rtc.epochMs === 'number') {
    r.rtc.epochMs += deltaMs;
    r.rtc.readAtMs += deltaMs;
  }
  if (Array.isArray(r.timeProbe.samples)) for (const s of r.timeProbe.samples) for (const k of ['t1', 't2', 't3', 't4']) s[k] += deltaMs;
  for (const e of r.events) e.atMs += deltaMs;
  return r;
}

const RID = '@@RID@@';
const AID = '@@AID@@';
const SEQ = 918273645;

/**
 * Returns next(): the body of the next request, as the agent sends it (a JSON array of one
 * report). Request k comes from agent k mod `agents`, whose report is fixture case
 * (agent mod 19); reportIds are unique across processes (`prefix`).
 */
export function bodyFactory({ agents = 10_000, prefix = `p${process.pid}`, array = true, nowMs = Date.now() } = {}) {
  const templates = loadCases().map((r) => {
    shiftReport(r, nowMs - FIXTURE_BASE_MS);
    r.reportId = RID;
    r.agent.id = AID;
    r.seq = SEQ;
    const text = JSON.stringify(array ? [r] : r);
    // Pieces of text between the placeholders, and which value goes after each piece.
    const parts = text.split(new RegExp(`("${RID}"|"${AID}"|${SEQ})`));
    const pieces = [];
    const slots = [];
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 0) pieces.push(parts[i]);
      else slots.push(parts[i] === `"${RID}"` ? 'rid' : parts[i] === `"${AID}"` ? 'aid' : 'seq');
    }
    if (slots.length !== 3) throw new Error(`template has ${slots.length} placeholders`);
    return { pieces, slots };
  });
  let n = 0;
  return function next() {
    const k = n++;
    const agent = k % agents;
    const { pieces, slots } = templates[agent % templates.length];
    const values = { rid: `"${prefix}-${k.toString(36)}-${agent}"`, aid: `"bench-vm-${agent}"`, seq: String(Math.floor(k / agents)) };
    let out = pieces[0];
    for (let i = 0; i < slots.length; i++) out += values[slots[i]] + pieces[i + 1];
    return out;
  };
}
