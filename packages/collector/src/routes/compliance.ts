/**
 * GET /v1/compliance: the fleet summary at this instant — agents by status, and per check how many
 * agents fail, warn or are unknown — plus the host's own synchronisation, which every verdict
 * depends on. Aggregated in the store over the latest-state table (no history scan).
 */
import type { FastifyInstance } from 'fastify';
import { ComplianceSummarySchema, isOk } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { LIBVIRT_CHECK_ID } from '../libvirt/check.js';
import { ErrorResponse } from '../schemas.js';
import { requireReadToken } from './read-auth.js';

export async function complianceRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  app.get(
    '/v1/compliance',
    {
      schema: {
        summary: 'Fleet summary: counts by status and by failing check',
        tags: ['compliance'],
        response: { 200: ComplianceSummarySchema, '4xx': ErrorResponse },
      },
    },
    async () => {
      const atMs = ctx.clock.now();
      const s = await ctx.store.summary(atMs);
      if (ctx.libvirt?.hasDomains) {
        // The libvirt-clock check changes statuses the store does not know: count the fleet rows.
        const all = (await ctx.store.listAgents({ nowMs: atMs, offset: 0, limit: Math.max(1, s.agents) })).rows;
        const rows = await ctx.libvirt.overlay(all, ctx.store, ctx.compliance, atMs);
        for (const k of Object.keys(s.byStatus) as (keyof typeof s.byStatus)[]) s.byStatus[k] = 0;
        const byCheck: typeof s.byCheck = Object.fromEntries([...Object.keys(s.byCheck), LIBVIRT_CHECK_ID].map((id) => [id, { fail: 0, warn: 0, unknown: 0 }]));
        for (const r of rows) {
          s.byStatus[r.status]++;
          for (const [id, st] of Object.entries(r.checks)) {
            if (st === 'pass') continue;
            const c = (byCheck[id] ??= { fail: 0, warn: 0, unknown: 0 });
            c[st]++;
          }
        }
        s.byCheck = byCheck;
        s.agents = rows.length;
      }
      const host = ctx.hostClock.current();
      return {
        atMs,
        agents: s.agents,
        byStatus: s.byStatus,
        byCheck: s.byCheck,
        host: { synchronized: host.synchronized, daemon: host.ntp && isOk(host.ntp) ? host.ntp.daemon : null },
      };
    },
  );
}
