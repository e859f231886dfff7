/** GET /metrics: Prometheus text exposition (read token required when --read-tokens is set). */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.js';
import { requireReadToken } from './read-auth.js';

export async function metricsRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['metrics'], produces: ['text/plain'] } }, async (_request, reply) => {
    // A Buffer: fastify sends it as it is (no page-sized string encoded again on the way out).
    const page = await ctx.metrics.renderPage();
    return reply.type(ctx.metrics.registry.contentType).send(page);
  });
}
