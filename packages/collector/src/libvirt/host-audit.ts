/**
 * The host audit (`--host-audit rtc,guest-agent`): after each libvirt read, every running domain of
 * `--libvirt-uri` is read from the host — its RTC through QMP (host-audit-read.ts; taints the
 * domain "custom-monitor" in libvirt's log), and, where qemu-guest-agent answers, the guest's system
 * time, zone and OS. The evidence is kept per domain UUID for the judge (judgeAgentless for guests
 * without an agent; the agent's verdict shows both views).
 *
 * RTC writes are seen by polling: the RTC offset is constant while nobody writes the RTC (QEMU
 * advances it with the host clock, mc146818rtc.c rtc_update_time), so a change between two passes
 * beyond both uncertainties and the drift limit is a write (hwclock --systohc, Windows setting its
 * clock). Polling was chosen over a long-running `virsh event --event rtc-change --loop` child: it
 * needs no supervised process and reconnect logic, survives libvirtd restarts without missing
 * state, and a write between passes is still seen (only its exact instant is not; several writes
 * between two passes count as one).
 */
import type { CommandRunner, HostAuditEvidence, HostRtcReading, RtcChange } from '@clockwatch/shared';
import { isRead, normalizeUuid } from '@clockwatch/shared';
import { readGuestOs, readGuestTime, readGuestZone, readRtc, type ReadOptions } from './host-audit-read.js';

export type HostAuditPart = 'rtc' | 'guest-agent';
export const HOST_AUDIT_PARTS: readonly HostAuditPart[] = ['rtc', 'guest-agent'];

export interface HostAuditOptions {
  uri: string;
  runner: CommandRunner;
  parts: readonly HostAuditPart[];
  nowMs: () => number;
  /** Domains audited at once (default 4). */
  concurrency?: number;
  timeoutMs?: number;
  virsh?: string;
  /** RTC changes below this (plus both uncertainties) are drift, not a write (the policy's rtc.maxDriftS; default 5 s). */
  rtcWriteThresholdS?: number;
}

const MAX_CHANGES = 10;

/** The RTC write seen between two readings, or null (pure). */
export function detectRtcChange(prev: HostRtcReading | null, next: HostRtcReading | null, thresholdS: number): RtcChange | null {
  if (!prev || !next) return null;
  const d = next.rtcOffsetS - prev.rtcOffsetS;
  if (Math.abs(d) <= thresholdS + prev.uncertaintyS + next.uncertaintyS) return null;
  return { atMs: next.atMs, fromS: prev.rtcOffsetS, toS: next.rtcOffsetS };
}

/** One domain, every enabled part (the guest agent's zone and OS are not asked when it does not answer the time). */
export async function auditDomain(runner: CommandRunner, o: ReadOptions, uuid: string, parts: readonly HostAuditPart[]): Promise<Omit<HostAuditEvidence, 'rtcChanges'>> {
  const ev: Omit<HostAuditEvidence, 'rtcChanges'> = { auditedAtMs: 0, rtc: null, guestTime: null, zone: null, os: null };
  if (parts.includes('rtc')) ev.rtc = await readRtc(runner, o, uuid);
  if (parts.includes('guest-agent')) {
    ev.guestTime = await readGuestTime(runner, o, uuid);
    if (isRead(ev.guestTime)) {
      ev.zone = await readGuestZone(runner, o, uuid);
      ev.os = await readGuestOs(runner, o, uuid);
    } else {
      ev.zone = ev.guestTime;
      ev.os = ev.guestTime;
    }
  }
  ev.auditedAtMs = o.nowMs();
  return ev;
}

export class HostAudit {
  readonly parts: readonly HostAuditPart[];
  private byUuid = new Map<string, HostAuditEvidence>();
  /** The last RTC reading that succeeded per domain: the base a write is detected against, across a failed read. */
  private lastRtc = new Map<string, HostRtcReading>();
  private print = '';

  constructor(private readonly o: HostAuditOptions) {
    this.parts = o.parts;
  }

  /**
   * Audits every running domain (by UUID); domains no longer running lose their evidence. Resolves
   * true when what the judge sees changed (a part's status, the RTC offset to the second, a write).
   */
  async pass(domains: readonly { uuid: string | null; live: boolean }[]): Promise<{ audited: number; changed: boolean; durationMs: number }> {
    const started = performance.now();
    const uuids = [...new Set(domains.filter((d) => d.live).map((d) => normalizeUuid(d.uuid)).filter((u): u is string => u !== null))];
    const read: ReadOptions = { uri: this.o.uri, nowMs: this.o.nowMs, ...(this.o.virsh ? { virsh: this.o.virsh } : {}), ...(this.o.timeoutMs ? { timeoutMs: this.o.timeoutMs } : {}) };
    const next = new Map<string, HostAuditEvidence>();
    let i = 0;
    const worker = async () => {
      while (i < uuids.length) {
        const uuid = uuids[i++] as string;
        const ev = await auditDomain(this.o.runner, read, uuid, this.parts);
        const prev = this.byUuid.get(uuid);
        const changes = prev ? [...prev.rtcChanges] : [];
        const now = isRead(ev.rtc) ? ev.rtc : null;
        const c = detectRtcChange(this.lastRtc.get(uuid) ?? null, now, this.o.rtcWriteThresholdS ?? 5);
        if (c) changes.push(c);
        if (now) this.lastRtc.set(uuid, now);
        next.set(uuid, { ...ev, rtcChanges: changes.slice(-MAX_CHANGES) });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.o.concurrency ?? 4, uuids.length)) }, worker));
    this.byUuid = next;
    for (const u of this.lastRtc.keys()) if (!next.has(u)) this.lastRtc.delete(u);
    const print = JSON.stringify([...next].map(([u, e]) => [u, summary(e)]));
    const changed = print !== this.print;
    this.print = print;
    return { audited: uuids.length, changed, durationMs: performance.now() - started };
  }

  evidenceFor(uuid: string | null | undefined): HostAuditEvidence | null {
    const u = normalizeUuid(uuid);
    return u ? (this.byUuid.get(u) ?? null) : null;
  }

  get size(): number {
    return this.byUuid.size;
  }
}

/** What a verdict depends on, coarsely (a second of RTC offset, 10 ms of guest offset, the errors). */
function summary(e: HostAuditEvidence): unknown {
  const r = (x: unknown, f: (v: never) => unknown) => (x === null ? null : isRead(x as object) ? f(x as never) : (x as { error: { code: string } }).error.code);
  return [
    r(e.rtc, (v: HostRtcReading) => Math.round(v.rtcOffsetS)),
    r(e.guestTime, (v: { offsetMs: number }) => Math.round(v.offsetMs / 10)),
    r(e.zone, (v: { offsetS: number; name: string | null }) => `${v.name}${v.offsetS}`),
    r(e.os, (v: { family: string | null }) => v.family),
    e.rtcChanges.length,
  ];
}

/** `rtc,guest-agent` → the parts (the config flag's parser). */
export function parseHostAuditParts(text: string): HostAuditPart[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`expected a comma-separated list of ${HOST_AUDIT_PARTS.join(', ')}, got '${text}'`);
  for (const p of parts) if (!(HOST_AUDIT_PARTS as readonly string[]).includes(p)) throw new Error(`unknown host audit part '${p}' (known: ${HOST_AUDIT_PARTS.join(', ')})`);
  return [...new Set(parts)] as HostAuditPart[];
}
