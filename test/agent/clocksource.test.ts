import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseClocksource, readClocksource, parseInvariantTsc } from '@clockwatch/agent';
import { fixtureRoot } from './helpers/paths.js';

t.test('parseClocksource reads the kernel format (names followed by a space, then a newline)', async (t) => {
  t.same(parseClocksource('kvm-clock\n', 'kvm-clock tsc acpi_pm \n'), { current: 'kvm-clock', available: ['kvm-clock', 'tsc', 'acpi_pm'] });
  t.same(parseClocksource('tsc\n', 'tsc kvm-clock \n'), { current: 'tsc', available: ['tsc', 'kvm-clock'] });
  const bad = parseClocksource('kvm-clock tsc\n', '');
  t.equal('error' in bad && bad.error.code, 'CW_ERR_PARSE');
  const empty = parseClocksource('\n', '');
  t.equal('error' in empty && empty.error.code, 'CW_ERR_PARSE');
});

t.test('readClocksource under fixture roots', async (t) => {
  // invariantTsc from /proc/cpuinfo: constant_tsc alone is not enough, nonstop_tsc must be set too (kvmclock.c).
  t.same(await readClocksource(fixtureRoot('kvm-guest')), { current: 'kvm-clock', available: ['kvm-clock', 'tsc', 'acpi_pm'], invariantTsc: false });
  t.same(await readClocksource(fixtureRoot('no-rtc')), { current: 'tsc', available: ['tsc', 'kvm-clock'], invariantTsc: true });
  t.same(await readClocksource(fixtureRoot('centos6')), { current: 'kvm-clock', available: ['kvm-clock', 'tsc', 'hpet', 'acpi_pm'], invariantTsc: false });
});

t.test('a missing sysfs is an error naming the guest path, not a default', async (t) => {
  const root = t.testdir({ etc: {} });
  const r = await readClocksource(root);
  t.ok('error' in r);
  if ('error' in r) {
    t.equal(r.error.code, 'CW_ERR_NOT_FOUND');
    t.match(r.error.message, /^\/sys\/devices\/system\/clocksource\/clocksource0\/current_clocksource does not exist$/);
    t.notMatch(r.error.message, root, 'the host path of the root is not shown');
  }
});

t.test('an unreadable available list still reports the current clocksource', async (t) => {
  const root = t.testdir({ sys: { devices: { system: { clocksource: { clocksource0: { current_clocksource: 'xen\n' } } } } } });
  t.same(await readClocksource(root), { current: 'xen', available: ['xen'] });
});

t.test('this machine: the same as the kernel files', async (t) => {
  const dir = '/sys/devices/system/clocksource/clocksource0';
  let current: string;
  try {
    current = readFileSync(`${dir}/current_clocksource`, 'utf8').trim();
  } catch {
    t.plan(0, 'no clocksource sysfs here');
    return;
  }
  const r = await readClocksource('/');
  t.equal('current' in r && r.current, current);
});

t.test('parseInvariantTsc: both flags on x86, undefined without a flags line (arm64 Features)', async (t) => {
  t.equal(parseInvariantTsc('processor\t: 0\nflags\t\t: fpu tsc constant_tsc nonstop_tsc tsc_known_freq\n'), true);
  t.equal(parseInvariantTsc('flags\t\t: fpu tsc constant_tsc\n'), false);
  t.equal(parseInvariantTsc('processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n'), undefined);
});
