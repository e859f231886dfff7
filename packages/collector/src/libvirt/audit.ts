/**
 * The libvirt clock audit as the collector runs it: the domains read from `--libvirt-xml-dir`
 * and/or `virsh` (`--libvirt-uri`) at start and every `--libvirt-refresh` (5 min, unref'ed timer,
 * never two reads at once), indexed by UUID. It judges nothing itself: the judge (compliance.ts →
 * shared judge.ts) asks it for the domain joined to an agent (`joinedDomain`), with when the host
 * last read it and the error of the latest read.
 *
 * What the host saw stays seen: a read that fails (libvirtd stopped, a virsh timeout, an
 * unreadable directory) keeps every domain last read, with its age and the read error — the
 * libvirt-clock check then marks the evidence stale instead of losing it. Only a read without
 * errors that no longer lists a domain removes it (the domain was undefined).
 */
import { normalizeUuid, type CommandRunner, type HostAuditEvidence, type JoinedDomain } from '@clockwatch/shared';
import { createExecFileRunner } from './command-runner.js';
import { HostAudit, type HostAuditPart } from './host-audit.js';
import { readLibvirtDomains, type DomainEntry, type DomainSourceError } from './source.js';

export interface LibvirtAuditOptions {
  xmlDir?: string | null;
  uri?: string | null;
  /** Runs virsh (default: execFile without a shell, a minimal environment). */
  runner?: CommandRunner;
  /** How often the domains are read again, ms (default 5 min). */
  refreshMs?: number;
  nowMs: () => number;
  onRefresh?: (r: { domains: number; errors: readonly DomainSourceError[]; durationMs: number; kept: number; changed: boolean }) => void;
  onError?: (err: unknown) => void;
  /** --host-audit: read every running domain's RTC / guest agent after each read (needs uri). */
  hostAudit?: readonly HostAuditPart[] | null;
  /** The drift limit under which an RTC change is not a write (rtc.maxDriftS). */
  rtcWriteThresholdS?: number;
}

/** One domain as last read, with when and how the latest read went. */
export interface AuditedDomain extends DomainEntry {
  /** When the host last read this domain successfully (host ms). */
  readAtMs: number;
  /** Why the latest read did not return it (null: it did). */
  readError: string | null;
}

export interface LibvirtSnapshot {
  refreshedAtMs: number | null;
  domains: readonly AuditedDomain[];
  errors: readonly DomainSourceError[];
}

/** A compact fingerprint of what the judge sees (domain XML facts and read errors): a change means rejudge. */
function fingerprint(domains: readonly AuditedDomain[]): string {
  return JSON.stringify(domains.map((d) => [d.source, d.domain, d.readError !== null ? d.readError : null]));
}

export class LibvirtAudit {
  readonly xmlDir: string | null;
  readonly uri: string | null;
  readonly refreshMs: number;
  private readonly runner: CommandRunner | undefined;
  private entries: AuditedDomain[] = [];
  private errors: DomainSourceError[] = [];
  private byUuid = new Map<string, AuditedDomain>();
  private refreshedAtMs: number | null = null;
  private inflight: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private print = '';
  private readonly listeners: (() => void)[] = [];
  readonly hostAudit: HostAudit | null;

  constructor(private readonly o: LibvirtAuditOptions) {
    this.xmlDir = o.xmlDir ?? null;
    this.uri = o.uri ?? null;
    if (!this.xmlDir && !this.uri) throw new Error('LibvirtAudit needs an XML directory or a libvirt URI');
    this.refreshMs = o.refreshMs ?? 300_000;
    this.runner = this.uri ? (o.runner ?? createExecFileRunner()) : o.runner;
    if (o.hostAudit && o.hostAudit.length > 0 && !this.uri) throw new Error('the host audit needs a libvirt URI');
    this.hostAudit =
      o.hostAudit && o.hostAudit.length > 0 && this.uri && this.runner
        ? new HostAudit({ uri: this.uri, runner: this.runner, parts: o.hostAudit, nowMs: o.nowMs, ...(o.rtcWriteThresholdS ? { rtcWriteThresholdS: o.rtcWriteThresholdS } : {}) })
        : null;
  }

  /** Called after a read that changed what the judge sees (the app re-judges the stored latest states). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Reads the domains now (joins a read already in flight); resolves true when what the judge sees
   * changed. Never rejects: failures are in snapshot().errors and keep the domains last read.
   */
  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    const started = performance.now();
    this.inflight = (async () => {
      try {
        const r = await readLibvirtDomains({ xmlDir: this.xmlDir, uri: this.uri, runner: this.runner });
        const nowMs = this.o.nowMs();
        const next = mergeSnapshot(this.entries, r.domains, r.errors, nowMs);
        const byUuid = new Map<string, AuditedDomain>();
        for (const e of next) {
          const u = normalizeUuid(e.domain.uuid);
          if (u && !byUuid.has(u)) byUuid.set(u, e);
        }
        this.entries = next;
        this.errors = r.errors;
        this.byUuid = byUuid;
        this.refreshedAtMs = nowMs;
        const print = fingerprint(next);
        let changed = print !== this.print;
        // Only domains read now are running for sure: one kept from an earlier read is not audited.
        if (this.hostAudit) changed = (await this.hostAudit.pass(next.map((e) => ({ uuid: e.domain.uuid, live: e.domain.live && e.readError === null })))).changed || changed;
        this.print = print;
        this.o.onRefresh?.({ domains: r.domains.length, errors: r.errors, durationMs: performance.now() - started, kept: next.length - r.domains.length, changed });
        if (changed) for (const l of this.listeners) l();
        return changed;
      } catch (err) {
        this.o.onError?.(err);
        return false;
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  /** Reads the domains, then again every refreshMs (the timer never keeps the process alive). */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a read in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inflight;
  }

  snapshot(): LibvirtSnapshot {
    return { refreshedAtMs: this.refreshedAtMs, domains: this.entries, errors: this.errors };
  }

  /** The domain whose UUID is this SMBIOS system UUID (any case, hyphens, braces), or null. */
  domainFor(systemUuid: string | null | undefined): AuditedDomain | null {
    const u = normalizeUuid(systemUuid);
    return u ? (this.byUuid.get(u) ?? null) : null;
  }

  /** The domain joined to an agent, as the judge takes it. */
  joinedDomain(systemUuid: string | null | undefined): JoinedDomain | null {
    const e = this.domainFor(systemUuid);
    return e ? { domain: e.domain, nextBoot: e.nextBoot ?? null, source: e.source, readAtMs: e.readAtMs, readError: e.readError } : null;
  }

  /** What the host audit read of this domain in its latest pass (null: not audited, not running, or no --host-audit). */
  hostAuditFor(uuid: string | null | undefined): HostAuditEvidence | null {
    return this.hostAudit?.evidenceFor(uuid) ?? null;
  }

  get hasDomains(): boolean {
    return this.byUuid.size > 0;
  }
}

/**
 * The snapshot after one read: every domain read now (fresh), plus — when the read reported errors
 * — every domain of the previous snapshot it did not return, kept as last read with the errors.
 * Pure.
 */
export function mergeSnapshot(previous: readonly AuditedDomain[], read: readonly DomainEntry[], errors: readonly DomainSourceError[], nowMs: number): AuditedDomain[] {
  const out: AuditedDomain[] = read.map((e) => ({ ...e, readAtMs: nowMs, readError: null }));
  if (errors.length === 0) return out;
  const seen = new Set(read.map((e) => normalizeUuid(e.domain.uuid) ?? `src:${e.source}`));
  const why = errors.map((e) => e.message).join('; ');
  for (const p of previous) {
    const key = normalizeUuid(p.domain.uuid) ?? `src:${p.source}`;
    if (seen.has(key)) continue;
    out.push({ ...p, readError: why.length > 300 ? `${why.slice(0, 300)}…` : why });
  }
  return out;
}
