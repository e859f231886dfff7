import t from 'tap';
import { readFileSync } from 'node:fs';
import { ErrorCodes, validateReport } from '@clockwatch/shared';

const good = JSON.parse(readFileSync(new URL('../fixtures/cases/kvm-linux-compliant/report.json', import.meta.url), 'utf8'));
const clone = () => JSON.parse(JSON.stringify(good));

t.test('a good report passes', async (t) => {
  const r = validateReport(good);
  t.equal(r.ok, true);
});

t.test('schema versions', async (t) => {
  for (const v of [2, 0, '1', null, undefined]) {
    const r = clone();
    r.schemaVersion = v;
    const res = validateReport(r);
    t.equal(res.ok, false);
    if (!res.ok) t.equal(res.code, ErrorCodes.SCHEMA_VERSION, `schemaVersion ${JSON.stringify(v)}`);
  }
});

t.test('malformed reports are refused with CW_ERR_VALIDATION and the path', async (t) => {
  const cases: [string, (r: any) => void, RegExp][] = [
    ['negative seq', (r) => (r.seq = -1), /\/seq/],
    ['string epoch', (r) => (r.systemTime.epochMs = '1795600000000'), /\/systemTime\/epochMs/],
    ['far future', (r) => (r.systemTime.epochMs = 9e15), /\/systemTime\/epochMs/],
    ['extra field', (r) => (r.surprise = 1), /\//],
    ['missing agent', (r) => delete r.agent, /\//],
    ['bad agent id', (r) => (r.agent.id = '../../etc/passwd'), /\/agent\/id/],
    ['huge hostname', (r) => (r.agent.hostname = 'x'.repeat(10_000)), /\/agent\/hostname/],
    ['too many samples', (r) => (r.timeProbe.samples = Array(100).fill(r.timeProbe.samples[0])), /\/timeProbe/],
    ['section with data and error', (r) => (r.ntp.error = { code: 'X', message: 'y' }), /\/ntp/],
    ['bad rtc mode', (r) => (r.rtc.mode = 'utc'), /\/rtc/],
    ['interval zero', (r) => (r.agent.intervalS = 0), /\/agent\/intervalS/],
    ['short reportId', (r) => (r.reportId = 'x'), /\/reportId/],
  ];
  for (const [name, mutate, path] of cases) {
    const r = clone();
    mutate(r);
    const res = validateReport(r);
    t.equal(res.ok, false, name);
    if (!res.ok) {
      t.equal(res.code, ErrorCodes.VALIDATION, `${name}: code`);
      t.ok(res.issues.some((i) => path.test(i.path)), `${name}: names the path (${res.message})`);
      t.ok(res.issues.length <= 10, 'issues are bounded');
    }
  }
  for (const v of [null, [], 'report', 42]) t.equal(validateReport(v).ok, false, `non-object ${JSON.stringify(v)}`);
});

t.test('an error section without invented values is valid', async (t) => {
  const r = clone();
  r.rtc = { error: { code: 'CW_ERR_RTC_ABSENT', message: 'no RTC' } };
  r.ntp = { error: { code: 'CW_ERR_READ', message: 'could not scan /proc' } };
  t.equal(validateReport(r).ok, true);
});

t.test('a lone surrogate anywhere is refused with its path; a pair is text and passes', async (t) => {
  // JSON text carries one only as an escape: parse the escapes, as the collector does a body.
  const cases: [string, string, string][] = [
    ['hostname, high half alone', '"hostname":"vm-\\ud800"', '/agent/hostname'],
    ['hostname, low half alone', '"hostname":"\\udfffvm"', '/agent/hostname'],
    ['hostname, halves reversed', '"hostname":"vm-\\ude00\\ud83d"', '/agent/hostname'],
  ];
  for (const [name, fragment, path] of cases) {
    const text = JSON.stringify(good).replace(/"hostname":"[^"]*"/, fragment);
    const res = validateReport(JSON.parse(text));
    t.equal(res.ok, false, name);
    if (!res.ok) {
      t.equal(res.code, ErrorCodes.VALIDATION, `${name}: CW_ERR_VALIDATION`);
      t.equal(res.issues[0]?.path, path, `${name}: the path`);
      t.match(res.message, /lone UTF-16 surrogate/, `${name}: says why`);
    }
  }
  const label = clone();
  label.agent.labels = { rack: 'r\udc00' };
  const res = validateReport(label);
  t.equal(res.ok, false, 'in a label value');
  if (!res.ok) t.equal(res.issues[0]?.path, '/agent/labels/rack');
  const pair = clone();
  pair.agent.hostname = 'vm-\ud83d\ude00';
  t.equal(validateReport(pair).ok, true, 'a surrogate pair (U+1F600) is text: accepted');
  const bmp = clone();
  bmp.agent.hostname = 'vm-\ufffd\uffff\ue000';
  t.equal(validateReport(bmp).ok, true, 'U+FFFD, U+FFFF, U+E000 are not surrogates: accepted');
});
