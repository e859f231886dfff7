/**
 * The domains the host audit read (--host-audit), as every surface other than GET /v1/libvirt
 * shows them: /metrics, the exports and `status`. One list, one join and one verdict for all of
 * them: a domain whose UUID no agent reports is a guest without an agent, judged from the host
 * audit by the one judge (Compliance.judgeDomain → judgeAgentless); a domain an agent reports has
 * both views, and its verdict stays the agent's (the host's reading is evidence in that verdict).
 *
 * What the host audit has and lacks is stated here once (evidenceOf), so the page, the exports and
 * the README say the same: the host reads QEMU's RTC and, where qemu-guest-agent answers, the
 * guest's time, zone and OS; only the guest kernel knows its clocksource and NTP daemon.
 */
import { isRead, normalizeUuid, type HostAuditEvidence, type Verdict } from '@clockwatch/shared';
import type { Compliance } from '../compliance.js';
import type { LibvirtAudit } from './audit.js';

export type EvidenceSource = 'agent' | 'host audit' | 'both';

export interface AuditedGuest {
  /** The domain UUID, normalised (lower case, hyphens). */
  uuid: string;
  name: string | null;
  /** 'host audit': no agent reports this UUID; 'both': an agent does too. */
  evidence: 'host audit' | 'both';
  /** Agents that report this UUID (empty: a guest without an agent). */
  agentIds: string[];
  audit: HostAuditEvidence;
  /** The judge's verdict from the host audit: guests without an agent only (an agent's verdict is its own). */
  verdict: Verdict | null;
}

/**
 * Every domain with a host audit in the latest pass, joined to `agents` by SMBIOS UUID; null when
 * the host audit is off (then nothing shows anywhere, not even an empty section).
 */
export function auditedGuests(
  libvirt: LibvirtAudit | null | undefined,
  compliance: Pick<Compliance, 'judgeDomain'>,
  agents: readonly { id: string; systemUuid: string | null }[],
  nowMs: number,
): AuditedGuest[] | null {
  if (!libvirt?.hostAudit) return null;
  const byUuid = new Map<string, string[]>();
  for (const a of agents) {
    const u = normalizeUuid(a.systemUuid);
    if (u) byUuid.set(u, [...(byUuid.get(u) ?? []), a.id]);
  }
  const out: AuditedGuest[] = [];
  const seen = new Set<string>();
  for (const d of libvirt.snapshot().domains) {
    const uuid = normalizeUuid(d.domain.uuid);
    if (!uuid || seen.has(uuid)) continue;
    const audit = libvirt.hostAuditFor(uuid);
    if (!audit) continue;
    seen.add(uuid);
    const agentIds = byUuid.get(uuid) ?? [];
    const verdict = agentIds.length === 0 ? compliance.judgeDomain({ domain: d.domain, source: d.source, readAtMs: d.readAtMs, readError: d.readError }, audit, nowMs) : null;
    out.push({ uuid, name: d.domain.name, evidence: agentIds.length > 0 ? 'both' : 'host audit', agentIds, audit, verdict });
  }
  return out;
}

/** The agentless guests only (no agent reports their UUID), each with its verdict. */
export function agentlessOnly(guests: readonly AuditedGuest[] | null): (AuditedGuest & { verdict: Verdict })[] {
  return (guests ?? []).filter((g): g is AuditedGuest & { verdict: Verdict } => g.verdict !== null);
}

const failed = (r: { error: { message: string } } | object | null): string | null => (r && 'error' in r ? (r as { error: { message: string } }).error.message : null);

/**
 * What the host audit of one guest has and lacks, in words: the readings it holds, and what it
 * cannot know — always the clocksource and the NTP daemon (only the guest kernel knows them,
 * domain.md §1, §4), plus any reading that failed or was not enabled, with why.
 */
export function evidenceOf(ev: HostAuditEvidence): { has: string[]; lacks: string[] } {
  const has: string[] = [];
  const lacks: string[] = [];
  const part = (r: HostAuditEvidence[keyof Pick<HostAuditEvidence, 'rtc' | 'guestTime' | 'zone' | 'os'>], what: string, flag: string) => {
    if (r !== null && isRead(r)) has.push(what);
    else if (r === null) lacks.push(`${what} (not audited: --host-audit ${flag})`);
    else lacks.push(`${what} (${failed(r) ?? 'not read'})`);
  };
  part(ev.rtc, 'RTC (QEMU qom-get rtc-time)', 'rtc');
  part(ev.guestTime, 'guest time (guest agent)', 'guest-agent');
  part(ev.zone, 'zone offset (guest agent)', 'guest-agent');
  part(ev.os, 'OS (guest agent)', 'guest-agent');
  lacks.push('clocksource (no agent in this guest)', 'NTP daemon (no agent in this guest)');
  return { has, lacks };
}
