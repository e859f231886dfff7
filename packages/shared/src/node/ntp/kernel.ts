/**
 * The kernel's NTP discipline state, read with `adjtimex --print` (Debian package adjtimex; a read,
 * modes = 0, needs no privilege — domain.md §5.1). Fields from linux/timex.h: `maxerror` (µs),
 * `status` bits STA_INS 0x10, STA_DEL 0x20 (a leap second is armed for the end of the UTC day),
 * STA_UNSYNC 0x40. The kernel grows maxerror by 500 µs/s between daemon updates and caps it at
 * 16 s (NTP_PHASE_LIMIT, kernel/time/ntp.c), so maxerror is the kernel's own error bound.
 */
import { existsSync } from 'node:fs';
import type { NtpInfo } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../runner.js';
import { underRoot, type NtpReaderContext } from './context.js';

const STA_INS = 0x10;
const STA_DEL = 0x20;
const STA_UNSYNC = 0x40;

export type KernelTimex = NonNullable<NtpInfo['kernel']>;

/** Pure: `adjtimex --print` output → maxerror and the leap/unsync flags; null when it has neither line. */
export function parseAdjtimexPrint(text: string): KernelTimex | null {
  const field = (k: string) => {
    const m = new RegExp(`^\\s*${k}\\s*[:=]?\\s*(-?\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const maxerror = field('maxerror');
  const status = field('status');
  if (maxerror === null || status === null || maxerror < 0) return null;
  return {
    maxErrorMs: maxerror / 1000,
    leap: status & STA_INS ? 'insert' : status & STA_DEL ? 'delete' : 'none',
    unsync: (status & STA_UNSYNC) !== 0,
  };
}

const ADJTIMEX_PATHS = ['/usr/sbin/adjtimex', '/sbin/adjtimex', '/usr/bin/adjtimex'];

/**
 * The kernel state, or null when adjtimex is not installed. Looked up on disk first, so a guest
 * without it costs no process (the agent's budget is one or two processes per cycle).
 */
export async function readKernelTimex(ctx: NtpReaderContext): Promise<KernelTimex | null> {
  if (!ADJTIMEX_PATHS.some((p) => existsSync(underRoot(ctx.root, p)))) return null;
  const res = await ctx.run('adjtimex', ['--print'], { timeoutMs: ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS });
  return res.code === 0 ? parseAdjtimexPrint(res.stdout) : null;
}
