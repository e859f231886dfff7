/** GET /metrics: Prometheus text exposition (read token required when --read-tokens is set). */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.js';
import { requireReadToken } from './read-auth.js';
import { joinBytes } from './bytes-body.js';

export async function metricsRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['metrics'], produces: ['text/plain'] } }, async (_request, reply) => {
    // The page's kept Buffers in one (bytes-body.ts): no page-sized string encoded on the way out.
    return reply.type(ctx.metrics.registry.contentType).send(joinBytes(await ctx.metrics.renderBuffers()));
  });
}
