/**
 * `clocksource`: the guest's current clocksource is the one the kernel should pick on its platform
 * (/sys/devices/system/clocksource/clocksource0/current_clocksource, kernel/time/clocksource.c
 * selects the highest-rated stable source; domain.md §1.2):
 * - x86 KVM: `kvm-clock` (rating 400, arch/x86/kernel/kvmclock.c); or `tsc` when the TSC is
 *   invariant (constant_tsc + nonstop_tsc), for which kvmclock_init() lowers kvm-clock to 299 so
 *   that tsc (300) wins — the kernel's correct choice, accepted by default.
 * - arm64: `arch_sys_counter`, the Arm generic timer (drivers/clocksource/arm_arch_timer.c); there
 *   is no kvm-clock on arm64.
 * - Hyper-V enlightened guests: `hyperv_clocksource_tsc_page` (drivers/clocksource/hyperv_timer.c).
 * `hpet` / `acpi_pm` on a KVM guest mean the better sources were marked unstable by the
 * clocksource watchdog ("Marking clocksource 'tsc' as unstable", kernel/time/clocksource.c) or
 * are missing.
 */
import Type from 'typebox';
import { isOk, type Report } from '../schema/report.js';
import { defineCheck, sectionUnknown, type CheckResult } from './types.js';

const Str = Type.String({ minLength: 1, maxLength: 256 });

export interface ClocksourceSettings {
  enabled: boolean;
  /** Clocksources always accepted. */
  allowed: string[];
  /** Accept `tsc` when the CPU flags show an invariant TSC and kvm-clock is available (the kernel's own choice). */
  acceptInvariantTsc: boolean;
  /** Accept the platform's own clock: arch_sys_counter on arm64, hyperv_clocksource_tsc_page on Hyper-V. */
  acceptPlatformClock: boolean;
}

type Platform = 'x86-kvm' | 'arm64' | 'hyperv' | 'other';

function platformOf(report: Report, available: readonly string[]): Platform {
  const os = isOk(report.os) ? report.os : null;
  if (os?.arch && /^(arm64|aarch64)$/.test(os.arch)) return 'arm64';
  if (available.includes('arch_sys_counter')) return 'arm64';
  if ((os && os.virtualization && /^(microsoft|hyperv|hyper-v)$/i.test(os.virtualization)) || available.some((a) => a.startsWith('hyperv_clocksource'))) return 'hyperv';
  if ((os && os.virtualization === 'kvm') || available.includes('kvm-clock')) return 'x86-kvm';
  return 'other';
}

const SYSFS = '/sys/devices/system/clocksource/clocksource0/current_clocksource';

/** The fix that exists on the guest's platform. */
function platformFix(platform: Platform, current: string, available: readonly string[], wanted: string | undefined): string {
  const switchTo = (name: string) => `boot with clocksource=${name} (kernel command line) or write it to ${SYSFS}`;
  switch (platform) {
    case 'arm64':
      return available.includes('arch_sys_counter')
        ? `arm64 guests use the Arm generic timer: ${switchTo('arch_sys_counter')}`
        : 'arm64 guests use the Arm generic timer (arch_sys_counter; arm64 has no kvm-clock): check that the guest kernel has CONFIG_ARM_ARCH_TIMER and that the VM exposes the architected timer';
    case 'hyperv':
      return available.includes('hyperv_clocksource_tsc_page')
        ? `${switchTo('hyperv_clocksource_tsc_page')}`
        : "enable the Hyper-V reference TSC page: on KVM add <timer name='hypervclock' present='yes'/> (libvirt) and check the guest kernel has CONFIG_HYPERV_TIMER";
    default: {
      if (wanted) return `${wanted} is available: ${switchTo(wanted)}`;
      const unstable = current === 'hpet' || current === 'acpi_pm' || /jiffies/.test(current);
      return (
        `kvm-clock is not available (available: ${available.join(' ') || 'none'})` +
        `${unstable ? `, so the kernel fell back to ${current}` : ''}: check the domain's <timer name='kvmclock' present='yes'/> and the guest kernel's KVM guest support (CONFIG_KVM_GUEST)`
      );
    }
  }
}

export const clocksourceCheck = defineCheck<'clocksource', ClocksourceSettings>({
  id: 'clocksource',
  title: 'Clocksource',
  policySchema: Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      allowed: Type.Optional(Type.Array(Str, { minItems: 1, maxItems: 16 })),
      acceptInvariantTsc: Type.Optional(Type.Boolean()),
      acceptPlatformClock: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, allowed: ['kvm-clock'], acceptInvariantTsc: true, acceptPlatformClock: true },
  dependsOnNow: false,
  column: 'c_clocksource',
  metricLabel: 'clocksource',
  runbook: 'docs/checks/clocksource.md',
  evaluate({ report, settings: p }): CheckResult<'clocksource'> {
    const cs = report.clocksource;
    if (!isOk(cs)) return sectionUnknown('clocksource', 'clocksource', cs.error);
    if (p.allowed.includes(cs.current)) return { id: 'clocksource', status: 'pass', reason: `clocksource ${cs.current}` };
    const platform = platformOf(report, cs.available);
    if (p.acceptPlatformClock && platform === 'arm64' && cs.current === 'arch_sys_counter') {
      return { id: 'clocksource', status: 'pass', reason: 'clocksource arch_sys_counter: the Arm generic timer, the right clocksource of an arm64 guest (arm64 has no kvm-clock)' };
    }
    if (p.acceptPlatformClock && platform === 'hyperv' && cs.current === 'hyperv_clocksource_tsc_page') {
      return { id: 'clocksource', status: 'pass', reason: 'clocksource hyperv_clocksource_tsc_page: the Hyper-V reference TSC page, the right clocksource of a Hyper-V enlightened guest' };
    }
    const wanted = p.allowed.find((a) => cs.available.includes(a));
    if (cs.current === 'tsc' && platform !== 'arm64') {
      if (p.acceptInvariantTsc && cs.invariantTsc === true && cs.available.includes('kvm-clock')) {
        return {
          id: 'clocksource',
          status: 'pass',
          reason:
            'clocksource tsc with an invariant TSC (constant_tsc, nonstop_tsc) and kvm-clock available: kvmclock_init lowers kvm-clock to rating 299 so that tsc (300) wins, the kernel\'s correct choice (arch/x86/kernel/kvmclock.c)',
        };
      }
      // An agent that does not report the CPU flags (older versions) gives no evidence of an
      // invariant TSC: a tsc without that evidence fails, and the reason says how to get it.
      const noFlags = cs.invariantTsc === undefined ? ' (this agent does not report the CPU flags: upgrade it, or check constant_tsc nonstop_tsc in /proc/cpuinfo)' : '';
      return {
        id: 'clocksource',
        status: 'fail',
        reason:
          `clocksource is tsc without an invariant TSC${cs.invariantTsc === false ? ' (the CPU flags lack constant_tsc or nonstop_tsc)' : noFlags}: its rate may change or stop with the vCPU; ` +
          `${wanted ? `${wanted} is available: boot with clocksource=${wanted} (kernel command line) or write it to ${SYSFS}` : platformFix(platform, cs.current, cs.available, undefined)}` +
          "; or expose an invariant TSC to the guest (libvirt <cpu mode='host-passthrough'> or <feature policy='require' name='invtsc'/>)",
      };
    }
    const unstable = cs.current === 'hpet' || cs.current === 'acpi_pm' || /jiffies/.test(cs.current);
    const cause = unstable && platform === 'x86-kvm'
      ? `: on a KVM guest this means kvm-clock and tsc were marked unstable by the clocksource watchdog (dmesg "Marking clocksource … as unstable") or are missing`
      : '';
    return {
      id: 'clocksource',
      status: 'fail',
      reason: `clocksource is ${cs.current}, policy allows ${p.allowed.join(', ')}${cause}; ${platformFix(platform, cs.current, cs.available, wanted)}`,
    };
  },
});
