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

/** The range of an ECMAScript Date (ECMA-262 §21.4.1.22, TimeClip): ±8.64e15 ms from the epoch. */
const MAX_INSTANT_MS = 8.64e15;

/** Parses a query instant: ms since the epoch, or an ISO 8601 date-time, within a Date's range. */
export function parseInstant(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new Error(`${name}: expected ms since the epoch or an ISO 8601 date-time, got '${value.slice(0, 40)}'`);
  if (Math.abs(n) > MAX_INSTANT_MS) throw new Error(`${name}: ${value.slice(0, 40)} is outside ±${MAX_INSTANT_MS} ms from the epoch`);
  return n;
}
