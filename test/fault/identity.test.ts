/**
 * Issue 11, item 3: a token bound to labels could write any agent id. Against the real collector
 * CLI with a tokens file of three tokens — PARIS (`site=paris*`), A (`a-*`) and ROTATED (`rebind`):
 * - PARIS cannot write an id that A's agent-id pattern reserves (`a-1`), before or after A reported;
 * - A cannot take over an agent PARIS delivered first (`p-1`, labelled site=paris), and PARIS can
 *   not take over one another label-bound token delivered first: the first token owns the id;
 * - the owner's latest state and history are untouched by the refused attempts;
 * - a `rebind` line takes an id over (token rotation), after which the old token is refused;
 * - the binding is in the database: it holds across a restart.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newToken } from '@clockwatch/collector';
import { makeReport } from '../collector/helpers.js';
import { restartCollector, samplesOf, startCollector } from './helpers.js';

t.test('agent ids are bound to the token that first delivered them; impersonation is refused both ways', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const paris = newToken('site=paris*');
  const lyon = newToken('site=*');
  const a = newToken('a-*');
  const rotated = newToken();
  writeFileSync(join(dir, 'tokens'), `${paris.line}\n${lyon.line}\n${a.line}\n${rotated.line}  rebind\n`);
  let c = await startCollector(t, { db, args: ['--tokens', join(dir, 'tokens'), '--rate-limit', '0'] });
  let seq = 0;
  const send = async (token: string, agentId: string, site: string, offsetMs = 1) => {
    const r = makeReport({ agentId, seq: seq++, atMs: Date.now() - 100, offsetMs });
    r.agent.labels = { site };
    const res = await fetch(`${c.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(r) });
    const body = (await res.json()) as { code?: string };
    if (res.status === 200) lastStored.set(agentId, r.reportId);
    return { status: res.status, code: body.code };
  };
  const lastStored = new Map<string, string>();
  const latestIs = async (id: string) => ((await (await fetch(`${c.url}/v1/agents/${id}`)).json()) as { reportId: string }).reportId === lastStored.get(id);

  // PARIS → an id A's pattern reserves: refused before A ever reported, and after.
  t.same(await send(paris.token, 'a-1', 'paris-1', 666), { status: 403, code: 'CW_ERR_AGENT_BOUND' }, 'PARIS cannot squat an id reserved by a-*');
  t.same(await send(a.token, 'a-1', 'anything', 1), { status: 200, code: undefined }, 'A writes its own agent');
  t.same(await send(paris.token, 'a-1', 'paris-1', 666), { status: 403, code: 'CW_ERR_AGENT_BOUND' }, 'PARIS cannot replace A’s agent');
  t.equal(samplesOf(db, 'a-1').length, 1, 'a-1 has only its own report');

  // A → an agent PARIS delivered first (p-1 is outside a-*, so FORBIDDEN by pattern already):
  t.same(await send(paris.token, 'p-1', 'paris-2', 2), { status: 200, code: undefined }, 'PARIS writes p-1 first');
  t.equal((await send(a.token, 'p-1', 'paris-2', 666)).status, 403, 'A cannot write p-1 (its pattern is a-*)');
  // ... and another label-bound token whose labels match cannot take it over either.
  t.same(await send(lyon.token, 'p-1', 'paris-2', 666), { status: 403, code: 'CW_ERR_AGENT_BOUND' }, 'a second label-bound token cannot write p-1');
  t.same(await send(lyon.token, 'l-1', 'lyon', 3), { status: 200, code: undefined }, 'LYON writes its own l-1');
  t.same(await send(paris.token, 'l-1', 'paris-3', 666), { status: 403, code: 'CW_ERR_AGENT_BOUND' }, 'PARIS cannot take over l-1 by saying site=paris');
  t.ok(await latestIs('p-1'), 'p-1’s latest state is its owner’s report');
  t.ok(await latestIs('l-1'), 'l-1’s latest state is its owner’s report');
  t.same(samplesOf(db, 'p-1').map((s) => s.seq).length, 1, 'and its history holds no forged report');

  // The binding is stored: it holds across a restart.
  await c.kill('SIGTERM');
  c = await restartCollector(t, { db, port: 0, args: ['--tokens', join(dir, 'tokens'), '--rate-limit', '0'] });
  t.same(await send(lyon.token, 'p-1', 'paris-2', 666), { status: 403, code: 'CW_ERR_AGENT_BOUND' }, 'still refused after a restart');

  // rebind: the rotated token takes p-1 over; the old owner is then refused.
  t.same(await send(rotated.token, 'p-1', 'paris-2', 4), { status: 200, code: undefined }, 'a rebind token takes p-1 over');
  t.same(await send(paris.token, 'p-1', 'paris-2', 666), { status: 403, code: 'CW_ERR_AGENT_BOUND' }, 'the old owner is refused after the rebind');
  t.ok(await latestIs('p-1'), 'the latest state is the rebind token’s report');
  await c.kill('SIGTERM');
});
