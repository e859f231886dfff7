/**
 * Read endpoints (fleet, agents, history, compliance, metrics) need a token from --read-tokens
 * when one is configured; without it they are open (the collector listens on 127.0.0.1 by default).
 */
import type { FastifyInstance } from 'fastify';
import { authenticate } from '../auth.js';
import type { AppContext } from '../context.js';

export function requireReadToken(app: FastifyInstance, ctx: AppContext): void {
  // Read per request: SIGHUP may load other tokens (never turns them on or off: see serve.ts).
  if (ctx.readTokens === null) return;
  app.addHook('onRequest', (request, _reply, done) => {
    if (ctx.readTokens !== null) authenticate(ctx.readTokens, request.headers.authorization);
    done();
  });
}

/** Instants are parsed in ../instant.ts (one home for queries, the export body and the CLI). */
export { parseInstant } from '../instant.js';
