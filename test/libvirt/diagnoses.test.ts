/**
 * libvirt-clock diagnoses: Windows under offset='utc' with an adjustment equal to its local offset
 * is its local time (fine without DST, a warning with DST), and the rtc and libvirt-clock reasons
 * round the same RTC reading the same way (formatSeconds).
 */
import t from 'tap';
import { evaluateLibvirtClock, formatSeconds, parseDomainXml } from '@clockwatch/shared';

const domain = (clock: string) => {
  const p = parseDomainXml(`<domain type='kvm'><name>win</name><uuid>5a3c1e2b-8f4d-4c1a-9e2b-7d6f5a4b3c2d</uuid><os><type arch='x86_64'>hvm</type></os>${clock}</domain>`);
  if (!p.ok) throw new Error(p.error.message);
  return p.domain;
};
const timers = "<timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/>";

t.test("Windows offset='utc' adjustment = its local offset is its local time", async (t) => {
  const d = domain(`<clock offset='utc' adjustment='28800'>${timers}</clock>`);
  const r = evaluateLibvirtClock(d, 'windows', { rtcOffsetS: 28800.3, zoneName: 'Asia/Shanghai', zoneOffsetS: 28800, atMs: Date.UTC(2026, 10, 25), rtcMode: 'LOCAL' });
  t.equal(r.status, 'pass', r.reason);
  t.match(r.reason, "UTC plus the guest's own offset UTC+08:00");
  // In a zone with DST the fixed adjustment is right only half the year.
  const b = evaluateLibvirtClock(domain(`<clock offset='utc' adjustment='3600'>${timers}</clock>`), 'windows', { rtcOffsetS: 3600, zoneName: 'Europe/Berlin', zoneOffsetS: 3600, atMs: Date.UTC(2026, 10, 25), rtcMode: 'LOCAL' });
  t.equal(b.status, 'warn', b.reason);
  t.match(b.reason, "write <clock offset='timezone' timezone='Europe/Berlin'>");
});

t.test('the RTC figure is rounded the same way in both reasons', async (t) => {
  const r = evaluateLibvirtClock(domain(`<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>`), 'linux', { rtcOffsetS: -0.6 });
  t.match(r.reason, `RTC reads ${formatSeconds(-0.6)}`);
  t.match(r.reason, 'RTC reads -0.6 s');
});
