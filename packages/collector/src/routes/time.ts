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
 * When the dedicated time listener runs (time/time-service.ts), every answer names its port in a
 * `clockwatch-time-port` header: the agent takes its samples there, away from the ingest loop.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TimeRequestSchema, TimeResponseSchema } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { ErrorResponse } from '../schemas.js';
import { TIME_BODY_LIMIT_BYTES, TIME_PORT_HEADER, timeReplyPayload, timeRequestT1 } from '../time/time-exchange.js';

const T2 = Symbol('clockwatch.t2');
type Stamped = FastifyRequest & { [T2]?: number };

export interface TimeRouteOptions extends RouteOptions {
  /** The dedicated time listener's port, once it listens (null: none). */
  timePort?: () => number | null;
}

export async function timeRoutes(app: FastifyInstance, { ctx, timePort }: TimeRouteOptions): Promise<void> {
  const clock = ctx.clock;
  const counter = ctx.metrics.timeRequests;
  app.route({
    method: 'POST',
    url: '/v1/time',
    bodyLimit: TIME_BODY_LIMIT_BYTES,
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
      const t1 = timeRequestT1(request.body);
      if (t1 === null) throw new HttpError('VALIDATION', 'body must be {"t1": <ms since epoch>}');
      counter.inc();
      reply.hijack();
      const raw = reply.raw;
      raw.statusCode = 200;
      raw.setHeader('content-type', 'application/json; charset=utf-8');
      raw.setHeader('cache-control', 'no-store');
      const port = timePort?.() ?? null;
      if (port !== null) raw.setHeader(TIME_PORT_HEADER, String(port));
      const payload = timeReplyPayload(t1, t2, () => clock.now());
      raw.setHeader('content-length', Buffer.byteLength(payload));
      raw.end(payload);
    },
  });
}
