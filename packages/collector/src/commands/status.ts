/**
 * `clockwatch-collector status [--db PATH | --url URL] [--json] [--width N]`: the fleet in the
 * terminal, one line per agent fitted to the width, the failing checks and their reasons below it.
 *
 * - `--db` reads the database file read-only (no server needed) and judges every agent's latest
 *   report as of now with the one judge, as GET /v1/agents/:id does: statuses and reasons come from
 *   that verdict, so `--policy` (or --libvirt-xml-dir / --libvirt-uri) changes both.
 * - `--url` asks a running collector: GET /v1/agents (every page), then GET /v1/agents/:id for
 *   each agent with a check that did not pass, for the reasons (undici, a few connections).
 * With --host-audit (--db) or a collector running it (--url), guests without an agent are listed
 * too, as `domain:<uuid>` marked [host audit], judged from what the host read of them.
 * Colours only when stdout is a terminal and NO_COLOR is not set; `--json` for scripts.
 */
import { DEFAULT_POLICY, isRead, parsePolicyText, type AgentStatus, type CheckStatus, type HostAuditEvidence, type PolicyDocument } from '@clockwatch/shared';
import { Compliance } from '../compliance.js';
import { DEFAULT_DB } from '../config.js';
import { ConfigError, helpText, nonEmpty, parseOptions, type OptionSpec } from '../options.js';
import type { AgentSummary } from '../store/types.js';
import { agentlessOnly, auditedGuests } from '../libvirt/agentless.js';
import { libvirtAuditFor, LIBVIRT_OPTIONS, openStoreReadOnly, readFileOr } from './common.js';
import { DEFAULT_WIDTH, formatStatus, problemsOf, statusDocument, type StatusAgent } from './status-format.js';
import type { Command, CommandIO } from './types.js';

const OPTIONS: readonly OptionSpec[] = [
  { key: 'db', flag: 'db', arg: 'PATH', help: 'read this SQLite database file (read-only)', default: DEFAULT_DB, parse: nonEmpty },
  {
    key: 'url',
    flag: 'url',
    arg: 'URL',
    help: 'ask a running collector instead (e.g. http://127.0.0.1:7070)',
    parse: (t) => {
      let u: URL;
      try {
        u = new URL(t);
      } catch {
        throw new Error(`expected an http(s) URL such as http://127.0.0.1:7070, got '${t}'`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`expected an http(s) URL, got '${t}'`);
      return u.origin + u.pathname.replace(/\/+$/, '');
    },
  },
  { key: 'readToken', flag: 'read-token', arg: 'TOKEN', help: 'read token for a collector started with --read-tokens', parse: nonEmpty },
  { key: 'readTokenFile', flag: 'read-token-file', arg: 'FILE', help: 'file holding the read token', parse: nonEmpty },
  { key: 'json', flag: 'json', help: 'print JSON for scripts', boolean: true, parse: (t) => t !== 'false' },
  {
    key: 'width',
    flag: 'width',
    arg: 'N',
    help: `fit the table to N columns (default: the terminal's width, ${DEFAULT_WIDTH} when stdout is not a terminal)`,
    parse: (t) => {
      const n = Number(t);
      if (!/^\d+$/.test(t) || n < 40 || n > 1000) throw new Error(`expected a number of columns from 40 to 1000, got '${t}'`);
      return n;
    },
  },
  { key: 'policy', flag: 'policy', arg: 'FILE', help: 'with --db: compliance policy (JSON); default built-in', parse: nonEmpty },
  ...LIBVIRT_OPTIONS,
  { key: 'config', flag: 'config', arg: 'FILE', help: 'JSON file with any of these options', parse: nonEmpty },
];

const PAGE = 10_000;

async function fromDb(v: Record<string, unknown>, sources: Record<string, string>, io: CommandIO, nowMs: number): Promise<StatusAgent[]> {
  let policy: PolicyDocument = DEFAULT_POLICY;
  if (v.policy) {
    try {
      policy = parsePolicyText(readFileOr(sources.policy ?? '--policy', v.policy as string).toString('utf8'));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${sources.policy}: ${v.policy as string}: ${(err as Error).message}`);
    }
  }
  const store = await openStoreReadOnly(v.db as string, sources.db ?? '--db');
  const libvirt = await libvirtAuditFor(v, io);
  try {
    const compliance = new Compliance(policy, libvirt);
    const rows: AgentSummary[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await store.listAgents({ nowMs, offset, limit: PAGE });
      rows.push(...page.rows);
      if (page.rows.length < PAGE) break;
    }
    const out: StatusAgent[] = [];
    for (const row of rows) {
      const a = await store.getAgent(row.id, nowMs);
      if (!a) continue;
      const { verdict } = compliance.judgeStored(a, nowMs);
      const checks = Object.fromEntries(verdict.checks.map((c) => [c.id, c.status]));
      const reasons = Object.fromEntries(verdict.checks.map((c) => [c.id, c.reason]));
      const sa = statusAgent({ ...row, status: verdict.status, checks }, reasons);
      if (verdict.evidence) sa.evidence = verdict.evidence;
      out.push(sa);
    }
    // Guests without an agent, judged from the host audit (--host-audit): one line each.
    for (const g of agentlessOnly(auditedGuests(libvirt, compliance, rows, nowMs))) out.push(agentlessRow(g.uuid, g.name, g.verdict, g.audit));
    return out;
  } finally {
    await libvirt?.stop();
    await store.close();
  }
}

/** A guest without an agent as a status line: id `domain:<uuid>`, its offset from the guest agent if one answered, its RTC as the host read it. */
function agentlessRow(uuid: string, name: string | null, verdict: { status: AgentStatus; checks: { id: string; status: CheckStatus; reason: string }[] }, ev: HostAuditEvidence): StatusAgent {
  const gt = isRead(ev.guestTime) ? ev.guestTime : null;
  const rtc = isRead(ev.rtc) ? ev.rtc : null;
  const checks = Object.fromEntries(verdict.checks.map((c) => [c.id, c.status]));
  const reasons = Object.fromEntries(verdict.checks.map((c) => [c.id, c.reason]));
  const row = statusAgent({ id: `domain:${uuid}`, hostname: name ?? uuid, status: verdict.status, offsetMs: gt?.offsetMs ?? null, uncertaintyMs: gt?.uncertaintyMs ?? null, rtcOffsetS: rtc?.rtcOffsetS ?? null, lastSeenMs: ev.auditedAtMs, checks }, reasons);
  row.evidence = 'host audit';
  return row;
}

function statusAgent(row: Pick<AgentSummary, 'id' | 'hostname' | 'status' | 'offsetMs' | 'uncertaintyMs' | 'rtcOffsetS' | 'lastSeenMs' | 'checks'>, reasons: Record<string, string>): StatusAgent {
  return {
    id: row.id,
    hostname: row.hostname,
    status: row.status,
    offsetMs: row.offsetMs,
    uncertaintyMs: row.uncertaintyMs,
    rtcOffsetS: row.rtcOffsetS,
    lastSeenMs: row.lastSeenMs,
    checks: row.checks,
    problems: problemsOf(row.checks, reasons),
  };
}

class FetchError extends Error {}

async function fromUrl(base: string, token: string | null): Promise<{ agents: StatusAgent[]; atMs: number }> {
  const { Pool } = await import('undici');
  const url = new URL(base);
  const prefix = url.pathname === '/' ? '' : url.pathname;
  const pool = new Pool(url.origin, { connections: 4 });
  const get = async (path: string): Promise<unknown> => {
    let res;
    try {
      res = await pool.request({ method: 'GET', path: prefix + path, headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, headersTimeout: 30_000, bodyTimeout: 60_000 });
    } catch (err) {
      throw new FetchError(`GET ${base}${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const text = await res.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new FetchError(`GET ${base}${path}: ${res.statusCode}, not JSON: ${text.slice(0, 200)}`);
    }
    if (res.statusCode !== 200) {
      const e = body as { code?: string; message?: string };
      throw new FetchError(`GET ${base}${path}: ${res.statusCode} ${e.code ?? ''}: ${e.message ?? text.slice(0, 200)}`);
    }
    return body;
  };
  try {
    const atMs = Date.now();
    const rows: AgentSummary[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = (await get(`/v1/agents?offset=${offset}&limit=${PAGE}`)) as { total: number; agents: AgentSummary[] };
      rows.push(...page.agents);
      if (page.agents.length < PAGE || rows.length >= page.total) break;
    }
    const out: StatusAgent[] = new Array(rows.length);
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const i = next++;
        const row = rows[i] as AgentSummary;
        let reasons: Record<string, string> = {};
        if (Object.values(row.checks).some((s) => s !== 'pass')) {
          try {
            const d = (await get(`/v1/agents/${encodeURIComponent(row.id)}`)) as { agent: AgentSummary; verdict: { checks: { id: string; reason: string }[] } };
            reasons = Object.fromEntries(d.verdict.checks.map((c) => [c.id, c.reason]));
          } catch (err) {
            // Forgotten between the two requests (retention): the row still stands, without reasons.
            if (!(err instanceof FetchError) || !/ 404 /.test(err.message)) throw err;
          }
        }
        out[i] = statusAgent(row, reasons);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    // Guests without an agent that the collector's host audit judged (GET /v1/libvirt; 404 without libvirt).
    type LibvirtBody = { domains: { uuid: string | null; name: string | null; verdict: { status: AgentStatus; checks: { id: string; status: CheckStatus; reason: string }[] } | null; hostAudit: HostAuditEvidence | null }[] };
    let lv: LibvirtBody | null = null;
    try {
      lv = (await get('/v1/libvirt')) as LibvirtBody;
    } catch (err) {
      if (!(err instanceof FetchError) || !/ 404 /.test(err.message)) throw err;
    }
    for (const d of (lv as LibvirtBody | null)?.domains ?? []) if (d.verdict && d.hostAudit && d.uuid) out.push(agentlessRow(d.uuid, d.name, d.verdict, d.hostAudit));
    return { agents: out, atMs };
  } finally {
    await pool.close();
  }
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'the fleet in the terminal: one line per agent, failing checks with reasons',
  async run(io) {
    if (io.argv.includes('--help') || io.argv.includes('-h')) {
      io.out(helpText('usage: clockwatch-collector status [--db PATH | --url URL] [--json] [--width N]', OPTIONS));
      return 0;
    }
    const { values: v, sources, positionals } = parseOptions(OPTIONS, io.argv, io.env, 'config');
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}' (see --help)`);
    const url = v.url as string | undefined;
    if (url && sources.db === '--db') throw new ConfigError(`--db and ${sources.url}: give one of them`);
    let token = (v.readToken as string | undefined) ?? null;
    if (!token && v.readTokenFile) token = readFileOr(sources.readTokenFile ?? '--read-token-file', v.readTokenFile as string).toString('utf8').trim() || null;

    let agents: StatusAgent[];
    let atMs = Date.now();
    let source: string;
    if (url) {
      source = url;
      try {
        ({ agents, atMs } = await fromUrl(url, token));
      } catch (err) {
        if (err instanceof FetchError) {
          io.err(`clockwatch-collector status: ${err.message}\n`);
          return 1;
        }
        throw err;
      }
    } else {
      source = v.db as string;
      agents = await fromDb(v, sources, io, atMs);
    }
    const doc = statusDocument(agents, atMs, source);
    if (v.json) {
      io.out(`${JSON.stringify(doc, null, 2)}\n`);
      return 0;
    }
    const color = io.isTTY?.stdout === true && (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '');
    const width = (v.width as number | undefined) ?? (io.columns !== undefined && io.columns > 0 ? io.columns : DEFAULT_WIDTH);
    io.out(formatStatus(doc, { color, width }));
    return 0;
  },
};
