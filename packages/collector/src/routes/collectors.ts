/**
 * GET /v1/collectors: the collectors of this fleet and each one's own NTP state. A collector is
 * the reference clock of the guests it measures, so an agent measured against an unsynchronised
 * host is known as such. With a store shared by many collectors (PostgreSQL) every collector
 * records its state there; with SQLite the fleet is this one collector.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.js';
import { isSharedStore } from '../store/types.js';
import { requireReadToken } from './read-auth.js';

export async function collectorRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  app.get('/v1/collectors', { schema: { summary: "The fleet's collectors and each one's own NTP state", tags: ['fleet'] } }, async () => {
    const self = { name: ctx.name, lastSeenMs: ctx.clock.now(), hostSynchronized: ctx.hostClock.current().synchronized };
    const store = ctx.store;
    const list = isSharedStore(store) ? await store.collectors() : [];
    if (!list.some((c) => c.name === self.name)) list.push(self);
    return { store: store.kind, collectors: list.map((c) => ({ ...c, self: c.name === self.name })) };
  });
}
