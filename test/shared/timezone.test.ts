import t from 'tap';
import { checkZoneAgreement, formatUtcOffset, isDst, isKnownZone, parseGmtOffset, sameZone, zoneOffsetS, zoneStandardOffsetS } from '@clockwatch/shared';

const JAN = Date.UTC(2026, 0, 15, 12);
const JUL = Date.UTC(2026, 6, 15, 12);

t.test('offsets at an instant, DST', async (t) => {
  t.equal(zoneOffsetS('Asia/Shanghai', JAN), 28800);
  t.equal(zoneOffsetS('America/Chicago', JAN), -21600);
  t.equal(zoneOffsetS('America/Chicago', JUL), -18000);
  t.equal(zoneOffsetS('Asia/Kathmandu', JAN), 20700, 'quarter-hour zone');
  t.equal(zoneOffsetS('Australia/Sydney', JAN), 39600, 'southern-hemisphere summer');
  t.equal(zoneStandardOffsetS('Australia/Sydney', JAN), 36000);
  t.equal(isDst('Australia/Sydney', JAN), true);
  t.equal(isDst('Australia/Sydney', JUL), false);
  t.equal(isDst('Europe/Berlin', JUL), true);
  t.equal(isDst('Asia/Shanghai', JUL), false);
  t.equal(zoneOffsetS('Bogus/Zone', JAN), null);
  t.equal(isDst('Bogus/Zone', JAN), null);
});

t.test('names', async (t) => {
  t.ok(isKnownZone('Europe/Kyiv'));
  t.notOk(isKnownZone('Bogus/Zone'));
  t.notOk(isKnownZone(''));
  t.ok(sameZone('Asia/Kolkata', 'Asia/Calcutta'), 'ICU legacy alias');
  t.ok(sameZone('Etc/UTC', 'UTC'));
  t.notOk(sameZone('Europe/Berlin', 'Europe/Paris'), 'same offset is not the same zone');
  t.notOk(sameZone('Bogus/Zone', 'UTC'));
});

t.test('agreement of name and offset', async (t) => {
  t.same(checkZoneAgreement('Europe/Berlin', 3600, JAN), { ok: true, expectedOffsetS: 3600 });
  t.same(checkZoneAgreement('Europe/Berlin', 3600, JUL), { ok: false, reason: 'offset-mismatch', expectedOffsetS: 7200 });
  t.same(checkZoneAgreement('Nowhere/Land', 0, JUL), { ok: false, reason: 'unknown-zone' });
});

t.test('formatting and parsing offsets', async (t) => {
  t.equal(formatUtcOffset(28800), 'UTC+08:00');
  t.equal(formatUtcOffset(-12600), 'UTC-03:30');
  t.equal(formatUtcOffset(0), 'UTC');
  t.equal(parseGmtOffset('GMT+05:45'), 20700);
  t.equal(parseGmtOffset('GMT-03:30'), -12600);
  t.equal(parseGmtOffset('GMT'), 0);
  t.equal(parseGmtOffset('CST'), null, 'abbreviations are never parsed');
});
