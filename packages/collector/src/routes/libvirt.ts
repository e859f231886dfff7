/**
 * GET /v1/libvirt: the libvirt clock audit — every domain read (from --libvirt-xml-dir and/or
 * virsh --libvirt-uri) with its libvirt-clock verdict, the agent joined to it by SMBIOS UUID,
 * domains without an agent, agents without a domain, UUIDs held twice, and what could not be read.
 * A domain's check is the judge's verdict for its joined agent (the same the agent view shows);
 * a domain without an agent is judged on its XML alone. A domain kept from an earlier read (the
 * latest one failed) says when it was read and why the latest read failed.
 * With --host-audit, each domain carries what the host read of it (RTC, guest agent), its evidence
 * source, and — for a guest without an agent — the judge's verdict from that evidence.
 * Without the options: 404 CW_ERR_LIBVIRT_NOT_CONFIGURED.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { CheckStatusSchema, evaluateLibvirtClock, joinDomainsToAgents, type LibvirtClockResult } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { evidenceOf } from '../libvirt/agentless.js';
import type { AuditedDomain } from '../libvirt/audit.js';
import { AuditedDomainFields, ErrorResponse, LibvirtCheckSchema } from '../schemas.js';
import type { AgentSummary } from '../store/types.js';
import { requireReadToken } from './read-auth.js';

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DomainRef = Type.Object({ name: Nullable(Type.String()), uuid: Nullable(Type.String()), source: Type.String() });
const AgentRef = Type.Object({ id: Type.String(), hostname: Type.String(), systemUuid: Nullable(Type.String()), status: Type.String() });

const Reading = (props: Record<string, Type.TSchema>) => Nullable(Type.Union([Type.Object(props), Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) })]));
export const HostAuditSchema = Type.Object(
  {
    auditedAtMs: Type.Number(),
    rtc: Reading({ rtcOffsetS: Type.Number(), uncertaintyS: Type.Number(), atMs: Type.Number() }),
    guestTime: Reading({ offsetMs: Type.Number(), uncertaintyMs: Type.Number(), atMs: Type.Number(), via: Type.String() }),
    zone: Reading({ name: Nullable(Type.String()), offsetS: Type.Number(), atMs: Type.Number() }),
    os: Reading({ id: Nullable(Type.String()), prettyName: Nullable(Type.String()), family: Nullable(Type.String()) }),
    rtcChanges: Type.Array(Type.Object({ atMs: Type.Number(), fromS: Type.Number(), toS: Type.Number() })),
  },
  { description: 'what --host-audit read of this running domain in its latest pass (null: not audited); a part is null when not enabled' },
);
const Evidence = Type.Union([Type.Literal('agent'), Type.Literal('host audit'), Type.Literal('both'), Type.Literal('domain XML')], {
  description: "where the domain's verdict comes from: its agent's report, the host audit (no agent), both, or the domain XML alone",
});
const GuestVerdict = Type.Object({
  status: Type.String(),
  checks: Type.Array(Type.Object({ id: Type.String(), status: CheckStatusSchema, reason: Type.String() })),
});

const LibvirtResponse = Type.Object({
  refreshedAtMs: Nullable(Type.Number()),
  refreshEveryMs: Type.Number(),
  sources: Type.Object({ xmlDir: Nullable(Type.String()), uri: Nullable(Type.String()) }),
  domains: Type.Array(
    Type.Object({
      ...AuditedDomainFields,
      agents: Type.Array(AgentRef),
      check: LibvirtCheckSchema,
      evidence: Evidence,
      hostAudit: Nullable(HostAuditSchema),
      verdict: Nullable(GuestVerdict),
      /** What the host audit has and lacks of this guest, in words (libvirt/agentless.ts evidenceOf); null: not audited. */
      hostAuditEvidence: Nullable(Type.Object({ has: Type.Array(Type.String()), lacks: Type.Array(Type.String()) })),
    }),
  ),
  domainsWithoutAgent: Type.Array(DomainRef),
  agentsWithoutDomain: Type.Array(AgentRef),
  duplicates: Type.Array(Type.Object({ uuid: Type.String(), domains: Type.Array(DomainRef), agents: Type.Array(AgentRef) })),
  errors: Type.Array(Type.Object({ source: Type.String(), code: Type.String(), message: Type.String() })),
});

export const checkBody = (r: LibvirtClockResult) => ({
  status: r.status,
  reason: r.reason,
  findings: r.findings,
  family: r.family,
  familySource: r.familySource,
  recommendedXml: r.recommendedXml,
});

const domainRef = (e: AuditedDomain) => ({ name: e.domain.name, uuid: e.domain.uuid, source: e.source });
const agentRef = (a: AgentSummary) => ({ id: a.id, hostname: a.hostname, systemUuid: a.systemUuid, status: a.status });

export async function libvirtRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  app.get(
    '/v1/libvirt',
    {
      schema: {
        summary: 'libvirt clock audit: domains with their libvirt-clock verdicts, domains without an agent, agents without a domain',
        tags: ['libvirt'],
        response: { 200: LibvirtResponse, '4xx': ErrorResponse },
      },
    },
    async () => {
      const audit = ctx.libvirt;
      if (!audit) throw new HttpError('LIBVIRT_NOT_CONFIGURED');
      const now = ctx.clock.now();
      const snap = audit.snapshot();
      const first = await ctx.store.listAgents({ nowMs: now, offset: 0, limit: 1 });
      const agents = first.total <= 1 ? first.rows : (await ctx.store.listAgents({ nowMs: now, offset: 0, limit: first.total })).rows;
      const join = joinDomainsToAgents(snap.domains.map((e) => ({ uuid: e.domain.uuid, entry: e })), agents);
      const byDomain = new Map<AuditedDomain, AgentSummary[]>();
      for (const m of join.matched) byDomain.set(m.domain.entry, [...(byDomain.get(m.domain.entry) ?? []), m.agent]);
      const domains = [];
      for (const entry of snap.domains) {
        const joined = byDomain.get(entry) ?? [];
        // The judge's verdict for the first joined agent's latest report (the family and the RTC it measures).
        const a = joined[0] ? await ctx.store.getAgent(joined[0].id, now) : null;
        const v = a ? ctx.compliance.judgeStored(a, now).verdict : null;
        const c = v?.checks.find((x) => x.id === 'libvirt-clock');
        const hostAudit = audit.hostAuditFor(entry.domain.uuid);
        // A guest without an agent is judged from the host audit, by the same judge (judgeAgentless).
        const agentless = !a && hostAudit ? ctx.compliance.judgeDomain({ domain: entry.domain, source: entry.source, readAtMs: entry.readAtMs, readError: entry.readError }, hostAudit, now) : null;
        const ac = agentless?.checks.find((x) => x.id === 'libvirt-clock');
        const check =
          v?.libvirt && c
            ? { ...checkBody(v.libvirt), status: c.status, reason: c.reason }
            : agentless?.libvirt && ac
              ? { ...checkBody(agentless.libvirt), status: ac.status, reason: ac.reason }
              : checkBody(evaluateLibvirtClock(entry.domain, null));
        const evidence = a ? (hostAudit ? 'both' : 'agent') : hostAudit ? 'host audit' : 'domain XML';
        domains.push({
          name: entry.domain.name,
          uuid: entry.domain.uuid,
          source: entry.source,
          live: entry.domain.live,
          readAtMs: entry.readAtMs,
          readError: entry.readError,
          agents: joined.map(agentRef),
          check,
          evidence,
          hostAudit,
          verdict: agentless ? { status: agentless.status, checks: agentless.checks } : null,
          hostAuditEvidence: hostAudit ? evidenceOf(hostAudit) : null,
        });
      }
      return {
        refreshedAtMs: snap.refreshedAtMs,
        refreshEveryMs: audit.refreshMs,
        sources: { xmlDir: audit.xmlDir, uri: audit.uri },
        domains,
        domainsWithoutAgent: join.domainsWithoutAgent.map((d) => domainRef(d.entry)),
        agentsWithoutDomain: join.agentsWithoutDomain.map(agentRef),
        duplicates: join.duplicates.map((d) => ({ uuid: d.uuid, domains: d.domains.map((x) => domainRef(x.entry)), agents: d.agents.map(agentRef) })),
        errors: snap.errors,
      };
    },
  );
}
