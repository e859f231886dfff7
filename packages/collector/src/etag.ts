/**
 * Conditional GET for the read API (RFC 9110 §8.8.3, §13.1.2): every 200 answer to a GET of
 * /v1/agents… or /v1/compliance carries a weak ETag over its body, and a request whose
 * If-None-Match names it gets 304 with no body. The fleet page polls with If-None-Match, so an
 * unchanged fleet costs a few bytes on the wire and no re-render in the browser. Here the tag is
 * a hash of the body. A route that knows a cheaper validator sets the ETag itself and answers 304
 * before building a body (GET /v1/agents from a store that keeps its rows' JSON: a hash of the
 * page's head and of each row's agent, version and status, routes/agents.ts); the hook then leaves
 * its answer alone.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

const CONDITIONAL = /^\/v1\/(agents(\/|\?|$)|compliance(\?|$))/;

/** A weak validator: equal bodies are equal representations (the same JSON bytes). */
export function weakEtag(body: string | Buffer): string {
  return `W/"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** If-None-Match (a list, or *) matches the tag under the weak comparison (RFC 9110 §8.8.3.2). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === opaque);
}

export function registerEtags(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'GET' || reply.statusCode !== 200 || !CONDITIONAL.test(request.url)) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    if (reply.hasHeader('etag')) return payload;
    const etag = weakEtag(payload);
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    if (!noneMatch(request.headers['if-none-match'], etag)) return payload;
    void reply.code(304).removeHeader('content-type');
    return '';
  });
}
