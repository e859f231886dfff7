/**
 * Platform facts, read once at start (they do not change while the agent runs) without spawning
 * anything — systeminformation's osInfo() starts ~18 processes for the same data (domain.md §9.3):
 * - distro and release: /etc/os-release, /usr/lib/os-release (os-release(5): NAME, VERSION_ID),
 *   else /etc/redhat-release or /etc/system-release (`CentOS release 6.10 (Final)`), else
 *   /etc/lsb-release (DISTRIB_ID, DISTRIB_RELEASE).
 * - kernel: /proc/sys/kernel/osrelease (uname -r).
 * - hypervisor: /sys/hypervisor/type (`xen`), DMI sys_vendor/product_name (the vendor table of
 *   systemd src/basic/virt.c), the paravirtual clocksources the kernel registered (kvm-clock,
 *   hyperv_clocksource_*, xen: domain.md §1.2), and the `hypervisor` CPU flag in /proc/cpuinfo
 *   (set by every x86 hypervisor; says "virtual" but not which).
 * Uptime is per cycle: /proc/uptime (proc(5): seconds since boot, then idle seconds).
 */
import os from 'node:os';
import type { OsInfo } from '@clockwatch/shared';
import { readOptional } from '../context.js';
import { parseShellVars } from './rtc-mode.js';

export interface DistroInfo {
  distro: string | null;
  release: string | null;
}

export function parseOsRelease(text: string): DistroInfo {
  const v = parseShellVars(text);
  return { distro: v.NAME || v.ID || null, release: v.VERSION_ID || v.VERSION || null };
}

/** `CentOS release 6.10 (Final)`, `Red Hat Enterprise Linux Server release 6.9 (Santiago)`. */
export function parseRedhatRelease(text: string): DistroInfo {
  const line = text.split('\n')[0]?.trim() ?? '';
  const m = /^(.*?)\s+release\s+(\S+)/i.exec(line);
  return m ? { distro: m[1]!, release: m[2]! } : { distro: line || null, release: null };
}

export interface VirtFacts {
  hypervisorType?: string | null;
  sysVendor?: string | null;
  productName?: string | null;
  clocksources?: readonly string[];
  cpuinfo?: string | null;
}

const DMI_VENDORS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^KVM|^OpenStack|^KubeVirt/i, 'kvm'],
  [/^Amazon EC2/i, 'amazon'],
  [/^QEMU/i, 'qemu'],
  [/^VMware|^VMW/i, 'vmware'],
  [/^innotek GmbH|^VirtualBox|^Oracle Corporation/i, 'virtualbox'],
  [/^Xen/i, 'xen'],
  [/^Bochs/i, 'bochs'],
  [/^Parallels/i, 'parallels'],
  [/^BHYVE/i, 'bhyve'],
  [/^Hyper-V|^Microsoft Corporation/i, 'hyperv'],
  [/^Google/i, 'google'],
];

/** Pure: hypervisor name, 'none' for an x86 CPU without the hypervisor flag, null when it cannot be told. */
export function detectVirtualization(f: VirtFacts): string | null {
  if (f.hypervisorType?.trim() === 'xen') return 'xen';
  const cs = f.clocksources ?? [];
  const product = f.productName?.trim() ?? '';
  for (const text of [product, f.sysVendor?.trim() ?? '']) {
    if (!text) continue;
    // Red Hat's KVM sets product_name "KVM"; Microsoft's vendor string needs the "Virtual Machine" product.
    if (/^Microsoft Corporation/i.test(text) && !/Virtual Machine/i.test(product)) continue;
    const hit = DMI_VENDORS.find(([re]) => re.test(text));
    // QEMU's DMI shows "QEMU" under KVM acceleration too; the kvm-clock registration tells them apart.
    if (hit) return hit[1] === 'qemu' && cs.includes('kvm-clock') ? 'kvm' : hit[1];
  }
  if (cs.includes('kvm-clock')) return 'kvm';
  if (cs.some((c) => c.startsWith('hyperv_clocksource'))) return 'hyperv';
  if (cs.includes('xen')) return 'xen';
  const flags = f.cpuinfo ? /^flags\s*:(.*)$/m.exec(f.cpuinfo)?.[1] : undefined;
  if (flags !== undefined) return /\bhypervisor\b/.test(flags) ? null : 'none';
  return null;
}

/** /proc/uptime → seconds since boot. */
export function parseUptime(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s/.exec(text.trim() + ' ');
  return m ? Number(m[1]) : null;
}

export async function readDistro(root: string): Promise<DistroInfo> {
  for (const p of ['/etc/os-release', '/usr/lib/os-release']) {
    const t = await readOptional(root, p);
    if (t) {
      const d = parseOsRelease(t);
      if (d.distro) return d;
    }
  }
  for (const p of ['/etc/redhat-release', '/etc/system-release']) {
    const t = await readOptional(root, p);
    if (t) return parseRedhatRelease(t);
  }
  const lsb = await readOptional(root, '/etc/lsb-release');
  if (lsb) {
    const v = parseShellVars(lsb);
    if (v.DISTRIB_ID) return { distro: v.DISTRIB_ID, release: v.DISTRIB_RELEASE ?? null };
  }
  return { distro: null, release: null };
}

/** The os section; `clocksources` are the available ones, already read for the clocksource section. */
export async function readPlatform(root: string, clocksources: readonly string[]): Promise<OsInfo> {
  const [distro, kernel, hypervisorType, sysVendor, productName, cpuinfo] = await Promise.all([
    readDistro(root),
    readOptional(root, '/proc/sys/kernel/osrelease'),
    readOptional(root, '/sys/hypervisor/type'),
    readOptional(root, '/sys/class/dmi/id/sys_vendor'),
    readOptional(root, '/sys/class/dmi/id/product_name'),
    readOptional(root, '/proc/cpuinfo'),
  ]);
  return {
    platform: os.platform(),
    distro: distro.distro,
    release: distro.release,
    kernel: kernel ?? (root === '/' ? os.release() : null),
    arch: os.machine(),
    virtualization: detectVirtualization({ hypervisorType, sysVendor, productName, clocksources, cpuinfo }),
  };
}

export async function readUptimeS(root: string): Promise<number | null> {
  const t = await readOptional(root, '/proc/uptime');
  return t === null ? null : parseUptime(t);
}
