/**
 * TZ values glibc does not read as zones (tzset(3)): a bare abbreviation (CST, BST, IST) that is no
 * file in the guest's tzdata runs on UTC+00:00; a POSIX rule (CST-8) is reported with its offset;
 * a name is a zone only when the guest's own zoneinfo has it.
 */
import t from 'tap';
import { decideTimezone, zoneFromTzEnv, type TimezoneFacts } from '@clockwatch/agent';

const AT = Date.UTC(2026, 10, 25, 12);
const facts = (tzEnv: string, files: string[] = []): TimezoneFacts => ({
  tzEnv,
  localtime: { kind: 'missing' },
  etcTimezone: null,
  sysconfigZone: null,
  // A stand-in TZif for names the guest's zoneinfo has (only presence matters for TZ).
  zoneFile: (name) => (files.includes(name) ? { version: 2, transitions: [], typeIndexes: [], types: [{ utoffS: 28800, isDst: false, abbreviation: 'CST' }], footer: 'CST-8' } : null),
});

t.test('TZ=CST, BST, IST: not US Central / British / Indian — glibc gives +0000', async (t) => {
  for (const abbr of ['CST', 'BST', 'IST']) {
    const r = decideTimezone(facts(abbr), AT);
    t.ok(!('error' in r), abbr);
    if ('error' in r) continue;
    t.equal(r.name, null, `${abbr}: no zone name`);
    t.equal(r.offsetS, 0, `${abbr}: UTC+00:00 as glibc runs it`);
    t.match(r.disagreements.join('; '), /not a zone in the guest's tzdata and has no offset/);
  }
  t.equal(zoneFromTzEnv('CST').name, null, 'pure callers: an abbreviation is never a zone');
});

t.test('TZ=CST-8 is a POSIX rule reported with its offset, never silently ignored', async (t) => {
  const r = decideTimezone(facts('CST-8'), AT);
  t.ok(!('error' in r));
  if ('error' in r) return;
  t.equal(r.name, null);
  t.equal(r.offsetS, 28800);
  t.equal(r.abbreviation, 'CST');
  t.match(r.sources[0]?.detail, 'is a POSIX TZ rule, not an IANA zone: UTC+08:00 (CST)');
});

t.test("TZ=Asia/Shanghai is a zone when the guest's tzdata has it", async (t) => {
  const r = decideTimezone(facts('Asia/Shanghai', ['Asia/Shanghai']), AT);
  t.ok(!('error' in r) && r.name === 'Asia/Shanghai' && r.offsetS === 28800);
});
