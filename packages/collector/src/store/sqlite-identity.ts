/**
 * Which token an agent id belongs to (issue: a token bound to `site=paris*` could otherwise write
 * any agent id, since labels are whatever the report says). The first token that delivers a
 * report for an agent id owns it, recorded in `agent_tokens`; another token may report for it only
 * when its tokens-file line says `rebind` (token rotation, a guest moved to another site), which
 * moves the ownership. A token is known by a fingerprint: the first 16 bytes of its SHA-256, which
 * is what the tokens file holds already, so the store learns nothing the file does not say.
 */
import type Database from 'better-sqlite3';
import type { AgentBindingConflict } from './types.js';

export class AgentTokenBindings {
  private readonly get: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly update: Database.Statement;
  private readonly tx: Database.Transaction<(ids: readonly string[], fp: string, rebind: boolean, nowMs: number) => AgentBindingConflict | null>;

  constructor(db: Database.Database) {
    this.get = db.prepare('SELECT token_fp FROM agent_tokens WHERE agent_id = ?').pluck();
    this.insert = db.prepare('INSERT INTO agent_tokens (agent_id, token_fp, bound_ms) VALUES (?, ?, ?)');
    this.update = db.prepare('UPDATE agent_tokens SET token_fp = ?, bound_ms = ? WHERE agent_id = ?');
    this.tx = db.transaction((ids: readonly string[], fp: string, rebind: boolean, nowMs: number) => {
      // Check all first: a request for several agents binds none when one belongs to another token.
      const moves: string[] = [];
      const fresh: string[] = [];
      for (const id of ids) {
        const owner = this.get.get(id) as string | undefined;
        if (owner === undefined) fresh.push(id);
        else if (owner !== fp) {
          if (!rebind) return { agentId: id, ownerFingerprint: owner };
          moves.push(id);
        }
      }
      const at = Math.round(nowMs);
      for (const id of fresh) this.insert.run(id, fp, at);
      for (const id of moves) this.update.run(fp, at, id);
      return null;
    });
  }

  /** Owners known to this process (one serve per database, so nobody else changes them). */
  private readonly cache = new Map<string, string>();

  /** Binds every id to `fp` unless one is owned by another token (and `rebind` is off): that one is returned. */
  bind(ids: readonly string[], fp: string, rebind: boolean, nowMs: number): AgentBindingConflict | null {
    // The ingest path: an agent already bound to this token costs a map lookup, no transaction.
    if (ids.every((id) => this.cache.get(id) === fp)) return null;
    const conflict = this.tx.immediate(ids, fp, rebind, nowMs);
    if (conflict) this.cache.set(conflict.agentId, conflict.ownerFingerprint);
    else for (const id of ids) this.cache.set(id, fp);
    if (this.cache.size > 200_000) this.cache.clear();
    return conflict;
  }
}
