/**
 * Clocksource (kernel/time/clocksource.c, attribute group `clocksource_attrs`):
 *   /sys/devices/system/clocksource/clocksource0/current_clocksource   "<name>\n"
 *   /sys/devices/system/clocksource/clocksource0/available_clocksource "<a> <b> \n" (every name
 *   followed by a space, then a newline: available_clocksource_show()).
 * Both are world-readable (0644 / 0444). domain.md §1.
 * On x86 the CPU flags `constant_tsc` and `nonstop_tsc` of /proc/cpuinfo tell whether the TSC is
 * invariant: then kvmclock_init() lowers kvm-clock's rating to 299 so that `tsc` (300) wins
 * (arch/x86/kernel/kvmclock.c), and `tsc` is the kernel's correct choice (domain.md §1.2).
 */
import { ErrorCodes, type ClocksourceSection } from '@clockwatch/shared';
import { readText } from '../context.js';

export const CLOCKSOURCE_DIR = '/sys/devices/system/clocksource/clocksource0';

export function parseClocksource(currentText: string, availableText: string): ClocksourceSection {
  const current = currentText.trim();
  if (!current || /\s/.test(current)) {
    return { error: { code: ErrorCodes.PARSE, message: `current_clocksource is not one name: ${JSON.stringify(currentText.slice(0, 80))}` } };
  }
  const available = availableText.trim().split(/\s+/).filter(Boolean).slice(0, 64);
  return { current, available };
}

/** Pure: /proc/cpuinfo → invariant TSC (both flags on the first CPU); undefined without an x86 `flags` line (arm64 has `Features`). */
export function parseInvariantTsc(cpuinfo: string): boolean | undefined {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1];
  if (line === undefined) return undefined;
  const flags = new Set(line.trim().split(/\s+/));
  return flags.has('constant_tsc') && flags.has('nonstop_tsc');
}

/**
 * The invariant-TSC flag, once read: the kernel fills /proc/cpuinfo's flags at boot
 * (arch/x86/kernel/cpu/proc.c prints each CPU's x86_capability, set while it boots), so it is a fact
 * of the boot, and generating the file costs ~50 µs a cycle. null: no x86 flags line, or unreadable.
 */
export interface CpuFlagsCache {
  invariantTsc?: boolean | null;
}

export async function readClocksource(root: string, cpuCache?: CpuFlagsCache): Promise<ClocksourceSection> {
  const [cur, avail] = await Promise.all([
    readText(root, `${CLOCKSOURCE_DIR}/current_clocksource`),
    readText(root, `${CLOCKSOURCE_DIR}/available_clocksource`),
  ]);
  if (!cur.ok) return { error: cur.error };
  // The list is a nicety; the current one is the fact. An unreadable list is reported empty
  // only when the current one was read (it then appears in the list below).
  const section = parseClocksource(cur.text, avail.ok ? avail.text : '');
  if ('current' in section && section.available.length === 0) section.available = [section.current];
  if ('current' in section) {
    let inv = cpuCache?.invariantTsc;
    if (inv === undefined) {
      const cpu = await readText(root, '/proc/cpuinfo');
      inv = (cpu.ok ? parseInvariantTsc(cpu.text) : undefined) ?? null;
      if (cpuCache) cpuCache.invariantTsc = inv;
    }
    if (inv !== null) section.invariantTsc = inv;
  }
  return section;
}
