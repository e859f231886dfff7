/**
 * The fleet and one agent: GET /v1/agents, /v1/agents/:id, /v1/agents/:id/history,
 * /v1/agents/:id/rollups. The fleet view reads only the latest-state table, whose per-check
 * columns are the judge's output (compliance.ts); statuses that depend on now (stale, the
 * reporting check) are combined with the request's instant. The agent view calls the judge.
 */
import type { FastifyInstance } from 'fastify';
import { AGENT_STATUSES, AgentListSchema, DAY_MS, driftPpm, HOUR_MS, type AgentStatus, type JoinedDomain, type Verdict } from '@clockwatch/shared';
import type { RouteOptions } from '../context.js';
import { HttpError } from '../errors.js';
import type { AgentSummary } from '../store/types.js';
import {
  AgentDetailQuery,
  AgentDetailSchema,
  AgentListQuery,
  AgentParams,
  ErrorResponse,
  HistoryAnyResponse,
  HistoryQuery,
  HistoryResponse,
  RangeQuery,
  RollupResponse,
} from '../schemas.js';
import { chooseResolution, LEGEND, rollupColumns } from '../history-columns.js';
import { parseInstant, requireReadToken } from './read-auth.js';
import { joinBytes, jsonArrayPieces } from './bytes-body.js';
import { noneMatch, weakEtag } from '../etag.js';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Points read for a drift estimate at most (a 10 s agent over 24 h is 8,640). */
const MAX_DRIFT_POINTS = 50_000;

function range(q: RangeQuery, nowMs: number, defaultSpanMs: number, defaultLimit: number) {
  let toMs: number | undefined;
  let fromMs: number | undefined;
  try {
    toMs = parseInstant(q.to, 'to');
    fromMs = parseInstant(q.from, 'from');
  } catch (err) {
    throw new HttpError('BAD_PARAM', (err as Error).message);
  }
  const to = toMs ?? nowMs;
  const from = fromMs ?? to - defaultSpanMs;
  if (from > to) throw new HttpError('BAD_PARAM', `from (${from}) is after to (${to})`);
  return { fromMs: from, toMs: to, limit: q.limit ?? defaultLimit };
}

/** The range a query asks for (defaults: the last day), for choosing a resolution before reading. */
function spanOf(q: RangeQuery, nowMs: number): [number, number] {
  const r = range(q, nowMs, DAY_MS, 1);
  return [r.fromMs, r.toMs];
}

/** The fleet row with the verdict's status and checks (the judge's, as the stored columns cache them). */
function agentRow(row: AgentSummary, verdict: Verdict): AgentSummary {
  return { ...row, status: verdict.status, checks: Object.fromEntries(verdict.checks.map((c) => [c.id, c.status])) };
}

/** The agent view's libvirt part: the joined domain, how old its reading is and why the last read failed, or why there is none. */
function libvirtView(systemUuid: string | null, joined: JoinedDomain | null, verdict: Verdict, nowMs: number) {
  if (!joined) {
    return {
      domain: null,
      check: null,
      note: systemUuid
        ? `no libvirt domain read by this collector has the UUID ${systemUuid}: no libvirt-clock check`
        : 'the agent reports no SMBIOS system UUID, so it cannot be joined to a libvirt domain: no libvirt-clock check',
    };
  }
  const lv = verdict.libvirt;
  const c = verdict.checks.find((x) => x.id === 'libvirt-clock');
  return {
    domain: { name: joined.domain.name, uuid: joined.domain.uuid, source: joined.source, live: joined.domain.live, readAtMs: joined.readAtMs, ageS: Math.max(0, Math.round((nowMs - joined.readAtMs) / 1000)), readError: joined.readError ?? null },
    /** The domain's <clock> as configured (null: no <clock> element, libvirt then uses offset='utc'). */
    clock: joined.domain.clock,
    check: lv && c ? { status: c.status, reason: c.reason, findings: lv.findings, family: lv.family, familySource: lv.familySource, recommendedXml: lv.recommendedXml } : null,
    note: joined.readError ? `the latest read of the domain failed (${joined.readError}); judged on the XML read ${Math.round((nowMs - joined.readAtMs) / 1000)} s ago` : null,
  };
}

export async function agentRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { store, clock, compliance } = ctx;
  requireReadToken(app, ctx);
  const errors = { '4xx': ErrorResponse };

  app.get<{ Querystring: AgentListQuery }>(
    '/v1/agents',
    {
      schema: {
        summary: 'The fleet: one row per agent, status as of now',
        tags: ['agents'],
        querystring: AgentListQuery,
        response: { 200: AgentListSchema, ...errors },
      },
    },
    async (request, reply) => {
      const q = request.query;
      let statuses: AgentStatus[] | undefined;
      if (q.status) {
        statuses = q.status.split(',').map((s) => s.trim()).filter(Boolean) as AgentStatus[];
        const bad = statuses.find((s) => !AGENT_STATUSES.includes(s));
        if (bad !== undefined) throw new HttpError('BAD_PARAM', `status: '${bad}' is not one of ${AGENT_STATUSES.join(', ')}`);
      }
      const offset = q.offset ?? 0;
      const limit = q.limit ?? 1000;
      const sort = q.sort ?? 'id';
      const labels = Object.fromEntries((q.label ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const nowMs = clock.now();
      const page = await store.listAgents({ nowMs, statuses, q: q.q, labels, sort, offset, limit });
      // JSON.stringify is 3× faster than the schema serializer on this shape (records of labels
      // and checks); the rows have exactly the schema's fields. The body is the text of
      // JSON.stringify({ collector, total, offset, limit, agents }).
      const head = `{"collector":${JSON.stringify(ctx.name)},"total":${JSON.stringify(page.total)},"offset":${JSON.stringify(offset)},"limit":${JSON.stringify(limit)},"agents":`;
      if (!page.rowsJson || !page.rowsTag) return reply.type(JSON_TYPE).send(`${head}${JSON.stringify(page.rows)}}`);
      // The store keeps each row's JSON and a validator of the page's rows: the ETag is that and
      // the head (etag.ts), a 304 needs no body, and the body is the kept bytes (bytes-body.ts).
      const etag = weakEtag(`${head}\n${page.rowsTag()}`);
      void reply.header('etag', etag).header('cache-control', 'no-cache');
      if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type(JSON_TYPE).send(joinBytes(jsonArrayPieces(head, page.rowsJson(), '}')));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { driftHours?: number } }>(
    '/v1/agents/:id',
    {
      schema: {
        summary: 'One agent: latest report, verdict with every reason, drift rate',
        tags: ['agents'],
        params: AgentParams,
        querystring: AgentDetailQuery,
        response: { 200: AgentDetailSchema, ...errors },
      },
    },
    async (request) => {
      const now = clock.now();
      const id = request.params.id;
      const a = await store.getAgent(id, now);
      if (!a) throw new HttpError('AGENT_NOT_FOUND', `no agent '${id}' has reported to this collector`);
      // The verdict as of now, with the host-side libvirt-clock check when a domain is joined.
      const { verdict, measurement: m, joined } = compliance.judgeStored(a, now);
      const view = { agent: agentRow(a.summary, verdict), verdict, libvirt: ctx.libvirt ? libvirtView(a.summary.systemUuid, joined, verdict, now) : undefined };
      const windowMs = (request.query.driftHours ?? 24) * HOUR_MS;
      const to = Math.max(now, a.summary.atMs);
      const from = to - windowMs;
      const [hist, steps, versions] = await Promise.all([
        store.history(id, { fromMs: from, toMs: to, limit: MAX_DRIFT_POINTS }),
        store.steps(id, from, to),
        store.staticVersions(id),
      ]);
      // Each point with its uncertainty and seq: the fit carries its own uncertainty and splits at
      // an agent restart (seq not increasing) as at a recorded step (shared time-math driftPpm).
      const points = hist.rows
        .filter((p) => p.offsetMs !== null)
        .map((p) => ({ atMs: p.atMs, offsetMs: p.offsetMs as number, uncertaintyMs: p.uncertaintyMs, seq: p.seq }));
      const d = driftPpm(points, steps.map((s) => s.atMs));
      return {
        agent: view.agent,
        collector: ctx.name,
        firstSeenMs: a.firstSeenMs,
        reportId: a.reportId,
        seq: a.seq,
        verdict: view.verdict,
        ...(view.libvirt ? { libvirt: view.libvirt } : {}),
        measurement: {
          offsetMs: m.offsetMs,
          uncertaintyMs: m.uncertaintyMs,
          delayMs: m.delayMs,
          offsetError: m.offsetError,
          rtcOffsetS: m.rtcOffsetS,
          rtcInference: m.rtc?.inferred ?? null,
          rtcExplanation: m.rtc?.explanation ?? null,
          receivedAtMs: m.receivedAtMs,
          hostSynchronized: m.hostSynchronized,
        },
        drift: d ? { ...d, steps: steps.length, fromMs: from, toMs: to } : null,
        limits: { offset: compliance.resolve(a.report).offset },
        changes: versions.map((v) => ({ hash: v.hash, firstSeenMs: v.firstSeenMs })),
        report: a.report,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: HistoryQuery }>(
    '/v1/agents/:id/history',
    {
      schema: {
        summary: 'Stored samples of one agent in time order (default: the last 24 h, at most 1000 points); ?format=columns for one array per field, with hourly rollups for long ranges',
        tags: ['agents'],
        params: AgentParams,
        querystring: HistoryQuery,
        response: { 200: HistoryAnyResponse, ...errors },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const q = request.query;
      const format = q.format ?? 'rows';
      if (format === 'rows' && (q.resolution === 'hour' || q.detail !== undefined)) {
        throw new HttpError('BAD_PARAM', 'resolution=hour and detail apply to format=columns; the row form is raw samples');
      }
      const resolution = format === 'rows' ? 'raw' : chooseResolution(q.resolution ?? 'auto', ...spanOf(q, clock.now()));
      const r = range(q, clock.now(), DAY_MS, resolution === 'hour' ? 24 * 400 : 1000);
      const notFound = async () => {
        if (!(await store.getAgent(id, r.toMs))) throw new HttpError('AGENT_NOT_FOUND', `no agent '${id}' has reported to this collector`);
      };
      if (resolution === 'hour') {
        // Rollups come earliest first: `truncated` says the range held more than `limit` hours.
        const rows = await store.rollups(id, { ...r, limit: r.limit + 1 });
        const truncated = rows.length > r.limit;
        if (truncated) rows.pop();
        if (rows.length === 0) await notFound();
        return reply
          .type(JSON_TYPE)
          .send(JSON.stringify({ agentId: id, fromMs: r.fromMs, toMs: r.toMs, resolution, truncated, points: rows.length, columns: rollupColumns(rows) }));
      }
      if (format === 'columns') {
        // Read straight into columns (store.historyColumns): no object per point.
        const page = await store.historyColumns(id, r, q.detail === true);
        const points = page.columns.atMs.length;
        if (points === 0) await notFound();
        const body = { agentId: id, fromMs: r.fromMs, toMs: r.toMs, resolution, truncated: page.truncated, points, legend: LEGEND, columns: page.columns };
        return reply.type(JSON_TYPE).send(JSON.stringify(body));
      }
      const page = await store.history(id, r);
      if (page.rows.length === 0) await notFound();
      return reply.type(JSON_TYPE).send(JSON.stringify({ agentId: id, fromMs: r.fromMs, toMs: r.toMs, truncated: page.truncated, points: page.rows }));
    },
  );

  app.get<{ Params: { id: string }; Querystring: RangeQuery }>(
    '/v1/agents/:id/rollups',
    {
      schema: {
        summary: 'Hourly rollups of one agent (default: the last 30 days)',
        tags: ['agents'],
        params: AgentParams,
        querystring: RangeQuery,
        response: { 200: RollupResponse, ...errors },
      },
    },
    async (request) => {
      const id = request.params.id;
      const r = range(request.query, clock.now(), 30 * DAY_MS, 24 * 400);
      const rows = await store.rollups(id, r);
      if (rows.length === 0 && !(await store.getAgent(id, r.toMs))) {
        throw new HttpError('AGENT_NOT_FOUND', `no agent '${id}' has reported to this collector`);
      }
      return { agentId: id, fromMs: r.fromMs, toMs: r.toMs, rollups: rows };
    },
  );
}
