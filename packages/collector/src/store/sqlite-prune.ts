/**
 * Retention on SQLite in small write transactions, so that `prune` (a second process) and the
 * serving collector share the database: each transaction deletes at most `chunkRows` samples and
 * starts with BEGIN IMMEDIATE, which takes the write lock first and so waits for it in the busy
 * handler (busy_timeout). A deferred BEGIN that reads first and then writes cannot wait: when
 * another connection committed in between, SQLite answers SQLITE_BUSY at once, because its read
 * snapshot is stale (https://www.sqlite.org/lang_transaction.html, "BEGIN IMMEDIATE";
 * https://www.sqlite.org/wal.html §"Sometimes Queries Return SQLITE_BUSY In WAL Mode").
 * Between two transactions the pruner pauses for as long as the last one held the lock, so a
 * writer waiting in its busy handler always finds the lock free within its next few tries.
 */
import type Database from 'better-sqlite3';
import type { PruneOptions, PruneResult } from './types.js';

export interface PruneRunOptions extends PruneOptions {
  /** Samples deleted per transaction (default 2000). */
  chunkRows?: number;
  /** Stop between two transactions when this says so (the store is closing). */
  stopped?: () => boolean;
  /** Called with each agent the prune forgot (caches keyed by it must go). */
  onForgotten?: (agentKey: number, agentId: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export async function pruneSqlite(db: Database.Database, o: PruneRunOptions): Promise<PruneResult> {
  const chunk = Math.max(1, Math.floor(o.chunkRows ?? 2000));
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const st = {
    agents: db.prepare('SELECT agent_key, agent_id FROM agents ORDER BY agent_key'),
    lastSeen: db.prepare('SELECT last_seen_ms FROM agent_latest WHERE agent_key = ?').pluck(),
    // The agent's oldest rows first, one key range of the clustered table (schema 6).
    samples: db.prepare(`DELETE FROM samples WHERE agent_key = @agent AND (at_ms, tie) IN
      (SELECT at_ms, tie FROM samples WHERE agent_key = @agent AND at_ms < @before ORDER BY at_ms, tie LIMIT @chunk)`),
    steps: db.prepare('DELETE FROM steps WHERE agent_key = ? AND at_ms < ?'),
    rollups: db.prepare('DELETE FROM rollups WHERE agent_key = ? AND hour_ms < ?'),
    forget: ['steps', 'rollups', 'statics', 'agent_latest', 'agent_docs', 'agents'].map((t) => db.prepare(`DELETE FROM ${t} WHERE agent_key = ?`)),
  };
  const result: PruneResult = { samples: 0, steps: 0, rollups: 0, agents: 0 };
  // Each step is one IMMEDIATE transaction; the pause after it is as long as it held the lock.
  const step = async <T>(fn: () => T): Promise<T> => {
    const t0 = performance.now();
    const out = db.transaction(fn).immediate();
    await sleep(Math.min(50, Math.max(1, performance.now() - t0)));
    return out;
  };
  const agents = st.agents.all() as { agent_key: number; agent_id: string }[];
  for (const a of agents) {
    if (o.stopped?.()) break;
    const lastSeen = st.lastSeen.get(a.agent_key) as number | undefined;
    const forget = lastSeen === undefined || lastSeen < o.rollupsBeforeMs;
    // Forgetting: every sample up to its last report (an hour of slack for the host-time stamp);
    // a report that arrives meanwhile is newer and stays, and the agent is then not forgotten.
    const before = forget ? (lastSeen ?? 0) + 3_600_000 : o.samplesBeforeMs;
    for (;;) {
      if (o.stopped?.()) return result;
      const n = await step(() => st.samples.run({ agent: a.agent_key, before, chunk }).changes);
      result.samples += n;
      if (n < chunk) break;
    }
    await step(() => {
      if (forget) {
        // Seen again since the samples went (a report between two transactions): keep it.
        const seen = st.lastSeen.get(a.agent_key) as number | undefined;
        if (seen !== undefined && seen >= o.rollupsBeforeMs) return;
        result.steps += st.forget[0]!.run(a.agent_key).changes;
        result.rollups += st.forget[1]!.run(a.agent_key).changes;
        for (const s of st.forget.slice(2)) s.run(a.agent_key);
        result.agents++;
        o.onForgotten?.(a.agent_key, a.agent_id);
        return;
      }
      result.steps += st.steps.run(a.agent_key, o.samplesBeforeMs).changes;
      result.rollups += st.rollups.run(a.agent_key, o.rollupsBeforeMs).changes;
    });
  }
  return result;
}
