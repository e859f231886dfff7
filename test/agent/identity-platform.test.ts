import t from 'tap';
import { readFileSync } from 'node:fs';
import { detectVirtualization, parseMachineId, parseOsRelease, parseRedhatRelease, parseSmbiosUuid, parseUptime, readIdentity, readPlatform } from '@clockwatch/agent';
import { fixtureRoot } from './helpers/paths.js';

const CPU_VM = 'processor\t: 0\nflags\t\t: fpu vme tsc hypervisor lahf_lm\n';
const CPU_METAL = 'processor\t: 0\nflags\t\t: fpu vme tsc lahf_lm\n';
const CPU_ARM = 'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\n';

t.test('machine-id and SMBIOS UUID', async (t) => {
  t.equal(parseMachineId('4F0B2A6A9C1E4D7B8E2F5A3C6D9E1B07\n'), '4f0b2a6a9c1e4d7b8e2f5a3c6d9e1b07');
  t.equal(parseMachineId('uninitialized\n'), null, 'first boot (machine-id(5))');
  t.equal(parseMachineId('00000000000000000000000000000000\n'), null);
  t.equal(parseMachineId(''), null);
  t.equal(parseSmbiosUuid('8D2F7C1E-5B3A-4F6E-9C0D-1A2B3C4D5E6F\n'), '8d2f7c1e-5b3a-4f6e-9c0d-1a2b3c4d5e6f');
  t.equal(parseSmbiosUuid('00000000-0000-0000-0000-000000000000\n'), null);
  t.equal(parseSmbiosUuid('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n'), null);
  t.equal(parseSmbiosUuid('Not Settable\n'), null);
});

t.test('identity under the fixture roots', async (t) => {
  t.same(await readIdentity(fixtureRoot('kvm-guest')), {
    machineId: '4f0b2a6a9c1e4d7b8e2f5a3c6d9e1b07',
    machineIdSource: '/etc/machine-id',
    systemUuid: '8d2f7c1e-5b3a-4f6e-9c0d-1a2b3c4d5e6f',
    hostname: 'kvm-guest-01',
  });
  t.match(await readIdentity(fixtureRoot('centos6')), { machineId: 'b5e2c4a6d8f04e1a9c3b5d7f9e1a3c5b', machineIdSource: '/var/lib/dbus/machine-id', systemUuid: null, hostname: 'legacy-db-02.example.com' });
  t.match(await readIdentity(fixtureRoot('no-rtc')), { systemUuid: null, hostname: 'vm' });
  t.match(await readIdentity(t.testdir({ etc: { hostname: 'only-etc\n' } })), { machineId: null, hostname: 'only-etc' });
});

t.test('distribution files', async (t) => {
  t.same(parseOsRelease('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n'), { distro: 'Ubuntu', release: '22.04' });
  t.same(parseRedhatRelease('CentOS release 6.10 (Final)\n'), { distro: 'CentOS', release: '6.10' });
  t.same(parseRedhatRelease('Red Hat Enterprise Linux Server release 6.9 (Santiago)\n'), { distro: 'Red Hat Enterprise Linux Server', release: '6.9' });
  t.equal(parseUptime('86400.12 170000.50\n'), 86400.12);
  t.equal(parseUptime('x'), null);
});

t.test('virtualization from DMI, hypervisor type, clocksources and the CPU flag', async (t) => {
  const cases: Array<[string, Parameters<typeof detectVirtualization>[0], string | null]> = [
    ['libvirt KVM: QEMU DMI, kvm-clock registered', { sysVendor: 'QEMU', productName: 'Standard PC (Q35 + ICH9, 2009)', clocksources: ['kvm-clock', 'tsc'], cpuinfo: CPU_VM }, 'kvm'],
    ['QEMU TCG: no kvm-clock', { sysVendor: 'QEMU', productName: 'Standard PC (i440FX + PIIX, 1996)', clocksources: ['tsc', 'hpet', 'acpi_pm'], cpuinfo: CPU_VM }, 'qemu'],
    ['RHEL KVM host', { sysVendor: 'Red Hat', productName: 'KVM', clocksources: ['kvm-clock'] }, 'kvm'],
    ['VMware', { sysVendor: 'VMware, Inc.', productName: 'VMware Virtual Platform', clocksources: ['tsc'] }, 'vmware'],
    ['Hyper-V', { sysVendor: 'Microsoft Corporation', productName: 'Virtual Machine', clocksources: ['hyperv_clocksource_tsc_page'] }, 'hyperv'],
    ['a Surface laptop is not Hyper-V', { sysVendor: 'Microsoft Corporation', productName: 'Surface Laptop 4', cpuinfo: CPU_METAL }, 'none'],
    ['Xen PV', { hypervisorType: 'xen\n', clocksources: ['xen', 'tsc'] }, 'xen'],
    ['no DMI, kvm-clock (microVM)', { clocksources: ['tsc', 'kvm-clock'], cpuinfo: CPU_VM }, 'kvm'],
    ['a hypervisor flag alone says virtual, not which', { clocksources: ['tsc'], cpuinfo: CPU_VM }, null],
    ['x86 bare metal', { sysVendor: 'Dell Inc.', productName: 'PowerEdge R640', clocksources: ['tsc', 'hpet'], cpuinfo: CPU_METAL }, 'none'],
    ['arm64 without DMI: cannot tell', { clocksources: ['arch_sys_counter'], cpuinfo: CPU_ARM }, null],
  ];
  for (const [name, facts, want] of cases) t.equal(detectVirtualization(facts), want, name);
});

t.test('platform under the fixture roots', async (t) => {
  t.match(await readPlatform(fixtureRoot('kvm-guest'), ['kvm-clock', 'tsc', 'acpi_pm']), { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-27-amd64', virtualization: 'kvm' });
  t.match(await readPlatform(fixtureRoot('centos6'), ['kvm-clock']), { distro: 'CentOS', release: '6.10', kernel: '2.6.32-754.35.1.el6.x86_64', virtualization: 'kvm' });
  t.match(await readPlatform(fixtureRoot('rtc-localtime'), ['kvm-clock']), { distro: 'Ubuntu', release: '22.04' });
  const bare = await readPlatform(t.testdir({}), []);
  t.match(bare, { distro: null, release: null, kernel: null, virtualization: null }, 'nothing readable, nothing invented');
});

t.test('this machine: kernel and hypervisor flag', async (t) => {
  const p = await readPlatform('/', ['tsc', 'kvm-clock']);
  t.equal(p.kernel, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
  if (/\bhypervisor\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) t.not(p.virtualization, 'none', 'a hypervisor flag is never "none"');
});
