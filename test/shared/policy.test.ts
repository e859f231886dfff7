import t from 'tap';
import { ClockwatchError, DEFAULT_POLICY, ErrorCodes, parsePolicy, parsePolicyText, resolvePolicy, wildcardMatch } from '@clockwatch/shared';

const linux = { agentId: 'vm-1', hostname: 'web-01', labels: { site: 'paris', os: 'linux' }, platform: 'linux' };

t.test('defaults follow the contract', async (t) => {
  const p = resolvePolicy(DEFAULT_POLICY, linux);
  t.same(p.clocksource.allowed, ['kvm-clock']);
  t.same([p.offset.warnMs, p.offset.failMs], [100, 1000]);
  t.equal(p.rtc.maxDriftS, 5);
  t.equal(p.rtc.expect, 'auto');
  t.equal(p.timezone.expected, null);
  t.equal(p.ntp.maxLastSyncAgeS, 600);
  t.equal(p.reporting.staleAfterIntervals, 3);
  t.same(p.rules, []);
  const win = resolvePolicy(DEFAULT_POLICY, { ...linux, platform: 'win32' });
  t.equal(win.clocksource.enabled, false, 'Windows has no Linux clocksource');
});

t.test('rules scope settings by label, hostname, agent id and platform; later rules win', async (t) => {
  const doc = parsePolicy({
    version: 1,
    defaults: { offset: { warnMs: 50 } },
    rules: [
      { name: 'paris', match: { labels: { site: 'par*' } }, set: { timezone: { expected: 'Europe/Paris' } } },
      { name: 'web', match: { hostname: 'web-*' }, set: { offset: { failMs: 500 } } },
      { name: 'other', match: { agentId: 'vm-9' }, set: { ntp: { enabled: false } } },
      { name: 'web-override', match: { hostname: 'web-01' }, set: { timezone: { expected: 'UTC' } } },
    ],
  });
  const p = resolvePolicy(doc, linux);
  t.same(p.rules, ['paris', 'web', 'web-override']);
  t.equal(p.timezone.expected, 'UTC', 'the later rule wins');
  t.same([p.offset.warnMs, p.offset.failMs], [50, 500], 'fields merge per check');
  t.equal(p.ntp.enabled, true);
  const q = resolvePolicy(doc, { ...linux, hostname: 'db-1', labels: {} });
  t.same(q.rules, []);
  t.equal(q.offset.failMs, 1000);
  // resolving does not mutate the shared defaults
  t.equal(resolvePolicy(DEFAULT_POLICY, linux).offset.warnMs, 100);
});

t.test('invalid policies are refused with a stable code naming the place', async (t) => {
  const bad: [unknown, RegExp][] = [
    [{ version: 2 }, /\/version/],
    [{ version: 1, defaults: { offset: { warnMs: -1 } } }, /\/defaults\/offset\/warnMs/],
    [{ version: 1, defaults: { offset: { warnMs: 500, failMs: 100 } } }, /warnMs \(500\) exceeds failMs \(100\)/],
    [{ version: 1, defaults: { timezone: { expected: 'Mars/Olympus' } } }, /unknown IANA zone 'Mars\/Olympus'/],
    [{ version: 1, defaults: { timezone: { expected: 'CST' } } }, /unknown IANA zone 'CST'/],
    [{ version: 1, defaults: { ofset: {} } }, /\/defaults/],
    [{ version: 1, rules: [{ match: {}, set: { rtc: { expect: 'sideways' } } }] }, /\/rules\/0\/set\/rtc\/expect/],
  ];
  for (const [doc, re] of bad) {
    let err: unknown;
    try {
      parsePolicy(doc);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ClockwatchError, `${JSON.stringify(doc)} is refused`);
    t.equal((err as ClockwatchError).code, ErrorCodes.POLICY_INVALID);
    t.match((err as ClockwatchError).message, re);
  }
  t.throws(() => parsePolicyText('{ not json'), { code: ErrorCodes.POLICY_INVALID });
});

t.test('wildcards', async (t) => {
  t.ok(wildcardMatch('web-*', 'web-01'));
  t.ok(wildcardMatch('*', ''));
  t.ok(wildcardMatch('a*c*e', 'abcde'));
  t.notOk(wildcardMatch('web-*', 'db-01'));
  t.notOk(wildcardMatch('web.01', 'webX01'), 'dots are literal');
  t.notOk(wildcardMatch('WEB-*', 'web-01'), 'case-sensitive');
});
