/**
 * GET /v1/libvirt: the libvirt clock audit — every domain read (from --libvirt-xml-dir and/or
 * virsh --libvirt-uri) with its libvirt-clock verdict, the agent joined to it by SMBIOS UUID,
 * domains without an agent, agents without a domain, UUIDs held twice, and what could not be read.
 * A domain's check is the judge's verdict for its joined agent (the same the agent view shows);
 * a domain without an agent is judged on its XML alone. A domain kept from an earlier read (the
 * latest one failed) says when it was read and why the latest read failed.
 * Without the options: 404 CW_ERR_LIBVIRT_NOT_CONFIGURED.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { evaluateLibvirtClock, joinDomainsToAgents, type LibvirtClockResult } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import type { AuditedDomain } from '../libvirt/audit.js';
import { AuditedDomainFields, ErrorResponse, LibvirtCheckSchema } from '../schemas.js';
import type { AgentSummary } from '../store/types.js';
import { requireReadToken } from './read-auth.js';

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DomainRef = Type.Object({ name: Nullable(Type.String()), uuid: Nullable(Type.String()), source: Type.String() });
const AgentRef = Type.Object({ id: Type.String(), hostname: Type.String(), systemUuid: Nullable(Type.String()), status: Type.String() });

const LibvirtResponse = Type.Object({
  refreshedAtMs: Nullable(Type.Number()),
  refreshEveryMs: Type.Number(),
  sources: Type.Object({ xmlDir: Nullable(Type.String()), uri: Nullable(Type.String()) }),
  domains: Type.Array(
    Type.Object({
      ...AuditedDomainFields,
      agents: Type.Array(AgentRef),
      check: LibvirtCheckSchema,
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
        const check = v?.libvirt && c ? { ...checkBody(v.libvirt), status: c.status, reason: c.reason } : checkBody(evaluateLibvirtClock(entry.domain, null));
        domains.push({
          name: entry.domain.name,
          uuid: entry.domain.uuid,
          source: entry.source,
          live: entry.domain.live,
          readAtMs: entry.readAtMs,
          readError: entry.readError,
          agents: joined.map(agentRef),
          check,
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
