/** GET /metrics: Prometheus text exposition (read token required when --read-tokens is set). */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.js';
import { requireReadToken } from './read-auth.js';
import { BytesBody } from './bytes-body.js';

export async function metricsRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  requireReadToken(app, ctx);
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['metrics'], produces: ['text/plain'] } }, async (_request, reply) => {
    // The page's kept Buffers, streamed (bytes-body.ts): no 13 MiB string or Buffer per scrape.
    const body = new BytesBody(await ctx.metrics.renderBuffers());
    return reply.type(ctx.metrics.registry.contentType).header('content-length', body.byteLength).send(body);
  });
}
