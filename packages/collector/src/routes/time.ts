/**
 * POST /v1/time: the NTP-style exchange over HTTP (RFC 5905 §8 timestamps).
 *
 * t2 (receive) is taken in the route's onRequest hook, the first code fastify runs for the
 * request, before the body is parsed; t3 (transmit) is taken after everything else, right before
 * the bytes are handed to the socket: the reply is serialised by hand and written raw
 * (reply.hijack()), so no serializer or onSend hook runs between t3 and the write. Whatever time
 * is spent between the two is inside t3 − t2, which the agent subtracts from the round trip:
 * a busy collector widens the uncertainty, it does not bias the offset beyond it.
 * No schema validation here (a tiny hand check instead): this route must cost almost nothing.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TimeRequestSchema, TimeResponseSchema } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { ErrorResponse } from '../schemas.js';

const T2 = Symbol('clockwatch.t2');
type Stamped = FastifyRequest & { [T2]?: number };

const MAX_T1 = 4_102_444_800_000;

export async function timeRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const clock = ctx.clock;
  const counter = ctx.metrics.timeRequests;
  app.route({
    method: 'POST',
    url: '/v1/time',
    bodyLimit: 1024,
    schema: {
      summary: 'Time exchange: send {t1}, get {t1, t2, t3} (ms since epoch, sub-ms)',
      tags: ['time'],
      body: TimeRequestSchema,
      response: { 200: TimeResponseSchema, '4xx': ErrorResponse },
    },
    // The body schema is for /docs; the handler checks the one field itself.
    validatorCompiler: () => () => true,
    onRequest: (request, _reply, done) => {
      (request as Stamped)[T2] = clock.now();
      done();
    },
    handler: (request, reply) => {
      const t2 = (request as Stamped)[T2] as number;
      const body = request.body as { t1?: unknown } | null | undefined;
      const t1 = body && typeof body === 'object' ? body.t1 : undefined;
      if (typeof t1 !== 'number' || !Number.isFinite(t1) || t1 < 0 || t1 > MAX_T1) {
        throw new HttpError('VALIDATION', 'body must be {"t1": <ms since epoch>}');
      }
      counter.inc();
      reply.hijack();
      const raw = reply.raw;
      const head = `{"t1":${t1},"t2":${t2},"t3":`;
      raw.statusCode = 200;
      raw.setHeader('content-type', 'application/json; charset=utf-8');
      raw.setHeader('cache-control', 'no-store');
      const t3 = clock.now();
      const payload = `${head}${t3}}`;
      raw.setHeader('content-length', Buffer.byteLength(payload));
      raw.end(payload);
    },
  });
}
