/**
 * Table-driven verdict tests: every folder under test/fixtures/cases holds a report, an optional
 * policy (default policy otherwise), the context of the evaluation (when the report was received,
 * "now", the host's own NTP state) and the expected verdict. Each case asserts every check's
 * status, the exact set of checks, the agent status, and phrases its reasons must contain, so
 * editing any expected value makes the case fail.
 */
import t from 'tap';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_POLICY,
  evaluate,
  measureReport,
  parsePolicyText,
  validateReport,
  type PolicyDocument,
} from '@clockwatch/shared';

const casesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cases');

interface Expected {
  /** Why this case cannot pass yet (a check text still to change): it runs as a tap todo. */
  todo?: string;
  status: string;
  checks: Record<string, { status: string; reasonIncludes?: string[] }>;
  measurement?: { offsetMs?: number; uncertaintyMs?: number; rtcOffsetS?: number };
  rules?: string[];
}
interface Context {
  receivedAtMs: number;
  nowMs: number;
  hostSynchronized: boolean | null;
}

const names = readdirSync(casesDir).sort();
t.ok(names.length >= 10, 'at least ten cases');

for (const name of names) {
  const todo = (JSON.parse(readFileSync(join(casesDir, name, 'expected.json'), 'utf8')) as Expected).todo;
  // A todo case's verdict waits for a check text; its report must still be a valid one.
  if (todo) t.ok(validateReport(JSON.parse(readFileSync(join(casesDir, name, 'report.json'), 'utf8'))).ok, `${name}: report.json is a valid v1 report`);
  t.test(name, todo ? { todo } : {}, async (t) => {
    const dir = join(casesDir, name);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    const raw = JSON.parse(read('report.json'));
    const expected = JSON.parse(read('expected.json')) as Expected;
    const ctx = JSON.parse(read('context.json')) as Context;
    const policy: PolicyDocument = existsSync(join(dir, 'policy.json')) ? parsePolicyText(read('policy.json')) : DEFAULT_POLICY;

    const v = validateReport(raw);
    if (!v.ok) {
      t.fail(`report.json is not a valid v1 report: ${v.message}`);
      return;
    }
    const m = measureReport(v.report, { receivedAtMs: ctx.receivedAtMs, hostSynchronized: ctx.hostSynchronized, hostResolutionMs: 0.001 });
    for (const [k, want] of Object.entries(expected.measurement ?? {})) {
      const got = (m as unknown as Record<string, number | null>)[k];
      t.ok(got !== null && Math.abs((got as number) - want) < 0.002, `measurement ${k}: ${got} ≈ ${want}`);
    }
    const verdict = evaluate(v.report, m, policy, ctx.nowMs);
    t.same(
      verdict.checks.map((c) => c.id).sort(),
      Object.keys(expected.checks).sort(),
      'exactly the expected checks are evaluated',
    );
    for (const c of verdict.checks) {
      const want = expected.checks[c.id];
      if (!want) continue;
      t.equal(c.status, want.status, `${c.id}: ${c.reason}`);
      for (const phrase of want.reasonIncludes ?? []) {
        t.match(c.reason, phrase, `${c.id} reason names "${phrase}"`);
      }
      t.notMatch(c.reason, /undefined|NaN|\[object/, `${c.id} reason has no placeholder garbage`);
    }
    t.equal(verdict.status, expected.status, 'agent status');
    if (expected.rules) t.same(verdict.rules, expected.rules, 'policy rules that applied');
  });
}
