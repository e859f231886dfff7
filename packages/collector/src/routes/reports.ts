/**
 * POST /v1/reports: one report or an array of spooled reports. The order of checks is the order
 * of cost: the token (onRequest, before the body is even read), the body (size, type, JSON), the
 * schema, the token's binding to the agents in the body, the per-agent rate limit; only then is
 * anything measured, evaluated and written. Every failure before the write writes nothing.
 * The reply is sent after the group transaction that holds these reports has committed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngestResponseSchema } from '@clockwatch/shared';
import { authenticate, bindingAllows, describeBinding, isLoopback, reservedForOthers, tokenFingerprint, type TokenEntry } from '../auth.js';
import type { RouteOptions } from '../context.js';
import { codeOf, HttpError } from '../errors.js';
import { ErrorResponse } from '../schemas.js';

const AUTH = Symbol('clockwatch.auth');
const RAW = Symbol('clockwatch.rawBody');
type Authed = FastifyRequest & { [AUTH]?: TokenEntry[] | null; [RAW]?: string };

export interface ReportsRouteOptions extends RouteOptions {
  bodyLimit: number;
}

export async function reportRoutes(app: FastifyInstance, { ctx, bodyLimit }: ReportsRouteOptions): Promise<void> {
  const { ingestor, metrics, rateLimiter, clock } = ctx;
  // fastify's own JSON parser (same errors, same prototype-poisoning refusal), keeping the text:
  // each report is hashed and stored as the bytes it came in, never serialised again.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    (request as Authed)[RAW] = body as string;
    parseJson(request, body as string, done);
  });
  app.route({
    method: 'POST',
    url: '/v1/reports',
    bodyLimit,
    schema: {
      summary: 'Ingest one report or an array of spooled reports; answers after the commit',
      tags: ['reports'],
      description:
        'Body: one ClockwatchReportV1 object, or an array of them. One report: 200 with one result, or 400/409 with a code. ' +
        'An array: 200 with `results` (stored or duplicate, in request order) and `rejected` (index, reportId, code) for the reports refused one by one.',
      security: [{ bearer: [] }],
      response: { 200: IngestResponseSchema, '4xx': ErrorResponse, '5xx': ErrorResponse },
    },
    onRequest: (request, _reply, done) => {
      if (ctx.agentTokens === null) {
        if (!isLoopback(request.socket.remoteAddress)) throw new HttpError('NOT_LOOPBACK');
        (request as Authed)[AUTH] = null;
      } else {
        (request as Authed)[AUTH] = authenticate(ctx.agentTokens, request.headers.authorization);
      }
      done();
    },
    onResponse: (_request, reply, done) => {
      metrics.ingestDuration.observe({ result: reply.statusCode < 400 ? 'ok' : String(reply.statusCode) }, reply.elapsedTime / 1000);
      done();
    },
    handler: async (request) => {
      const receivedAtMs = clock.now();
      const { single, valid, rejected } = ingestor.parse(request.body, (request as Authed)[RAW]);

      const entries = (request as Authed)[AUTH];
      if (entries) {
        for (const v of valid) {
          if (!entries.some((e) => bindingAllows(e.binding, v.report.agent))) {
            const allowed = entries.map((e) => describeBinding(e.binding)).join(' or ');
            throw new HttpError('FORBIDDEN', `this token may report for ${allowed}, not for agent '${v.report.agent.id}'`);
          }
        }
        // Identity (auth.ts): before the rate limit, so an impersonator cannot spend another's budget.
        const ids = [...new Set(valid.map((v) => v.report.agent.id))];
        const reserved = ids.find((id) => reservedForOthers(ctx.agentTokens ?? [], entries, id));
        if (reserved !== undefined) throw new HttpError('AGENT_BOUND', `agent '${reserved}' is reserved by an agent-id pattern of another token in the tokens file`);
        const conflict = ids.length ? await ctx.store.bindAgentsToToken(ids, tokenFingerprint(entries[0]!), { rebind: entries.some((e) => e.rebind), nowMs: receivedAtMs }) : null;
        if (conflict) {
          throw new HttpError('AGENT_BOUND', `agent '${conflict.agentId}' belongs to the token that first reported for it; a tokens-file line with 'rebind' lets another token take it over`);
        }
      }
      const limited = rateLimiter.take(new Set(valid.map((v) => v.report.agent.id)), receivedAtMs);
      if (!limited.ok) {
        throw new HttpError('RATE_LIMITED', `too many requests for agent '${limited.agentId}': retry in ${limited.retryAfterS} s`, {
          'retry-after': String(limited.retryAfterS),
        });
      }

      const answer = await ingestor.store(valid, rejected, receivedAtMs);
      if (single) {
        const r = answer.rejected[0];
        if (r) {
          const e = r.code === codeOf('REPORT_CONFLICT') ? new HttpError('REPORT_CONFLICT', r.message) : HttpError.withCode(r.statusCode, r.code, r.message);
          e.counted = true;
          throw e;
        }
        return { accepted: answer.accepted, results: answer.results };
      }
      return answer;
    },
  });

}
