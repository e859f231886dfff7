/**
 * GET /v1/compliance: the fleet summary at this instant — agents by status, and per check how many
 * agents fail, warn or are unknown — plus the host's own synchronisation, which every verdict
 * depends on. Aggregated in the store over the latest-state table (no history scan), whose
 * per-check columns are the judge's output; `serve`'s SQLite store keeps the counts in memory,
 * staleness at this instant included (store/sqlite-fleet-index.ts).
 */
import type { FastifyInstance } from 'fastify';
import { ComplianceSummarySchema, isOk } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
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
      // The latest-state columns are the judge's output (compliance.ts), libvirt-clock included.
      const s = await ctx.store.summary(atMs);
      const host = ctx.hostClock.current();
      return {
        atMs,
        agents: s.agents,
        byStatus: s.byStatus,
        byCheck: s.byCheck,
        host: { synchronized: host.synchronized, daemon: host.ntp && isOk(host.ntp) ? host.ntp.daemon : null },
        // Tells the page to ask GET /v1/libvirt for the guests without an agent (absent: nothing to ask).
        ...(ctx.libvirt?.hostAudit ? { hostAudit: true } : {}),
      };
    },
  );
}
