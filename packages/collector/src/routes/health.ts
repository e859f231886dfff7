/**
 * GET /healthz: liveness and the host's own clock. Always open (load balancers and systemd
 * watchdogs call it without tokens); it shows nothing about the fleet.
 */
import type { FastifyInstance } from 'fastify';
import { isOk } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { HealthResponse } from '../schemas.js';

export async function healthRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  app.get('/healthz', { schema: { summary: 'Liveness and the host NTP state', tags: ['health'], response: { 200: HealthResponse } } }, async () => {
    // A collector whose database file is gone acknowledges nothing: it is not healthy (503).
    const store = ctx.storeHealth();
    if (!store.ok) throw new HttpError('DB_GONE', store.message);
    const nowMs = ctx.clock.now();
    const state = ctx.hostClock.current();
    const ntp = state.ntp;
    const data = ntp && isOk(ntp) ? ntp : null;
    let note: string | null = null;
    if (state.synchronized === false) {
      note = 'this host is not NTP-synchronised: it is the reference clock of its guests, so every offset verdict is marked unreliable';
    } else if (state.synchronized === null) {
      note = state.checkedAtMs === null ? 'the host NTP state has not been read yet' : 'the host NTP state is unknown';
    }
    return {
      status: 'ok' as const,
      version: ctx.version,
      uptimeS: (nowMs - ctx.startedAtMs) / 1000,
      nowMs,
      store: ctx.store.kind,
      auth: { reports: ctx.agentTokens === null ? 'loopback-only' : 'tokens', reads: ctx.readTokens === null ? 'open' : 'tokens' },
      host: {
        synchronized: state.synchronized,
        daemon: data?.daemon ?? null,
        server: data?.server ?? null,
        stratum: data?.stratum ?? null,
        offsetMs: data?.offsetMs ?? null,
        maxErrorMs: data?.maxErrorMs ?? null,
        lastSyncAgeS: data?.lastSyncAgeS ?? null,
        checkedAtMs: state.checkedAtMs,
        error: ntp && !isOk(ntp) ? ntp.error : (data?.statusError ?? null),
        note,
      },
    };
  });
}
