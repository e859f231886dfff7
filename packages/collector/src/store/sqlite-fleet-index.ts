/**
 * The writer's fleet in memory, in the orders its queries ask for, with staleness kept rather than
 * counted: what lets the summary, the worst-first page and the id-ordered listing of the whole
 * fleet be answered without reading agent_latest per request (sqlite.ts keeps the SQL path for
 * filters and for the read-only store).
 *
 * Orders, exactly as SQLite gives them: `ORDER BY agent_id` and `ORDER BY severity, hostname,
 * agent_id` compare TEXT with the BINARY collation (compareUtf8, sqlite-text-order.ts).
 *
 * Staleness: an agent is stale at `now` iff isStaleAt(lastSeen, staleAfter, now) (the reporting
 * check's rule, shared checks/reporting.ts; STATUS_SQL in SQL). That is monotone in now, so the
 * agents stale at the latest instant swept are kept flagged, with counts per base status; a
 * min-heap of deadlines (lastSeen + staleAfter) with lazy deletion says which agents a later
 * instant may add. An instant before the last sweep (a clock stepped back, a query for the past)
 * is answered by evaluating the rule per agent, leaving the kept state alone; after REBASE_AFTER
 * such instants in a row (the host clock stepped back and stays there) the kept state is rebuilt
 * for the earlier instant, so that the queries after it are swept forward again.
 */
import { isStaleAt, SEVERITY_ORDER, type AgentStatus } from '@clockwatch/shared';
import { compareUtf8 } from './sqlite-text-order.js';

/** What ordering and staleness need of one latest state. */
export interface FleetFacts {
  agentId: string;
  hostname: string;
  /** agent_latest.version: says whether a cached copy of the row is current. */
  version: number;
  /** Status without `reporting` (base_status). */
  base: AgentStatus;
  lastSeenMs: number;
  /** null: the reporting check is off, never stale. */
  staleAfterMs: number | null;
}

interface Node {
  key: number;
  /** Changed in place while id and hostname stay (no search of the orders per write). */
  f: FleetFacts;
  /** Stale at the last swept instant. */
  stale: boolean;
  /** Bumped at every change of f: heap items of an older generation are dropped when met. */
  gen: number;
}

interface HeapItem {
  n: Node;
  gen: number;
  /** lastSeen + staleAfter, rounded (the heap's order; the rule itself decides). */
  deadlineMs: number;
}

/** A page key as the fleet view reads it: agent_key, version, status at the query's instant. */
export type FleetKey = [key: number, version: number, status: AgentStatus];

/**
 * Slack of the heap's pop test. The sum lastSeen + staleAfter and the rule's difference now −
 * lastSeen round differently (by far less than 1 ms for epoch milliseconds): every agent the rule
 * calls stale has a deadline below now + 1 ms; one popped but not yet stale waits in `pending`.
 */
const SLACK_MS = 1;
/** Queries before the swept instant, one after the other, after which the kept state is rebuilt there. */
const REBASE_AFTER = 8;

/** A heap item for the node as it is now (staleAfterMs not null). */
function item(n: Node): HeapItem {
  return { n, gen: n.gen, deadlineMs: n.f.lastSeenMs + (n.f.staleAfterMs as number) };
}

const byHostThenId = (a: Node, b: Node) => compareUtf8(a.f.hostname, b.f.hostname) || compareUtf8(a.f.agentId, b.f.agentId);
const byId = (a: Node, b: Node) => compareUtf8(a.f.agentId, b.f.agentId);

/** Index of `n` in `arr` sorted by `cmp` (exact match), or where it would go (as ~index − 1 … -(i+1)). */
function search(arr: Node[], n: Node, cmp: (a: Node, b: Node) => number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(arr[mid] as Node, n);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -(lo + 1);
}

const emptyByStatus = (): Record<AgentStatus, number> => ({ compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 });

export class FleetIndex {
  private readonly nodes = new Map<number, Node>();
  /** Every agent by (hostname, agent_id); by agent_id. */
  private byHost: Node[] = [];
  private byIdOrder: Node[] = [];
  /** Agents by base status, and those of them stale at sweptMs. */
  private base = emptyByStatus();
  private staleByBase = emptyByStatus();
  private sweptMs = -Infinity;
  /** Min-heap on deadlineMs of nodes not stale at sweptMs (lazy: items of changed or removed nodes are dropped when met). */
  private heap: HeapItem[] = [];
  /** Popped, deadline within SLACK_MS of a swept instant, not stale at it yet. */
  private pending: HeapItem[] = [];
  /** Queries before sweptMs since the last sweep forward. */
  private behind = 0;
  /**
   * Bumped by every change a page's keys depend on (an entry set or removed, a stale flag raised,
   * the flags forgotten): while it stands, a page asked again at the swept instant is the same.
   */
  private changes = 0;
  /** The last page of each order answered from the kept flags, and the count it was made at. */
  private readonly memo = new Map<'id' | 'severity', { offset: number; limit: number; changes: number; keys: FleetKey[] }>();

  get size(): number {
    return this.nodes.size;
  }

  /** The instant the kept stale flags are exact for (-Infinity: none yet). */
  get sweptAtMs(): number {
    return this.sweptMs;
  }

  get(key: number): FleetFacts | undefined {
    return this.nodes.get(key)?.f;
  }

  clear(): void {
    this.changes++;
    this.nodes.clear();
    this.byHost = [];
    this.byIdOrder = [];
    this.base = emptyByStatus();
    this.staleByBase = emptyByStatus();
    this.sweptMs = -Infinity;
    this.heap = [];
    this.pending = [];
    this.behind = 0;
  }

  /** Replaces everything (at open, after a rollback, after another connection's commit). */
  load(entries: Iterable<[number, FleetFacts]>): void {
    this.clear();
    for (const [key, f] of entries) {
      const n: Node = { key, f, stale: false, gen: 0 };
      this.nodes.set(key, n);
      this.byHost.push(n);
      this.byIdOrder.push(n);
      this.base[f.base]++;
      if (f.staleAfterMs !== null) this.heap.push(item(n));
    }
    this.byHost.sort(byHostThenId);
    this.byIdOrder.sort(byId);
    this.heapify();
  }

  set(key: number, f: FleetFacts): void {
    this.changes++;
    let n = this.nodes.get(key);
    if (n && n.f.hostname === f.hostname && n.f.agentId === f.agentId) {
      // Same place in both orders: the node changes in place.
      this.uncount(n);
      n.f = f;
      n.gen++;
    } else {
      if (n) this.delete(key);
      n = { key, f, stale: false, gen: 0 };
      this.insertIn(this.byHost, n, byHostThenId);
      this.insertIn(this.byIdOrder, n, byId);
      this.nodes.set(key, n);
    }
    n.stale = this.sweptMs > -Infinity && isStaleAt(f.lastSeenMs, f.staleAfterMs, this.sweptMs);
    this.base[f.base]++;
    if (n.stale) this.staleByBase[f.base]++;
    else if (f.staleAfterMs !== null) this.push(item(n));
    if (this.heap.length > 2 * this.nodes.size + 64) this.rebuildHeap();
  }

  delete(key: number): void {
    const old = this.nodes.get(key);
    if (!old) return;
    this.changes++;
    this.uncount(old);
    this.removeFrom(this.byHost, old, byHostThenId);
    this.removeFrom(this.byIdOrder, old, byId);
    this.nodes.delete(key);
  }

  private uncount(n: Node): void {
    this.base[n.f.base]--;
    if (n.stale) this.staleByBase[n.f.base]--;
  }

  private insertIn(arr: Node[], n: Node, cmp: (a: Node, b: Node) => number): void {
    const i = search(arr, n, cmp);
    arr.splice(i < 0 ? -(i + 1) : i, 0, n);
  }

  private removeFrom(arr: Node[], n: Node, cmp: (a: Node, b: Node) => number): void {
    const i = search(arr, n, cmp);
    if (i >= 0) arr.splice(i, 1);
  }

  /** The item is of the node's current generation, the node still the agent's and not flagged stale. */
  private live(x: HeapItem): boolean {
    return x.gen === x.n.gen && !x.n.stale && this.nodes.get(x.n.key) === x.n;
  }

  /**
   * Brings the stale flags forward to nowMs. Returns false when nowMs lies before the last sweep:
   * the flags then say nothing about nowMs (the caller evaluates the rule per agent).
   */
  sweep(nowMs: number): boolean {
    if (nowMs < this.sweptMs) {
      if (++this.behind < REBASE_AFTER) return false;
      this.rebase();
    }
    this.behind = 0;
    if (nowMs === this.sweptMs) return true;
    this.sweptMs = nowMs;
    if (this.pending.length > 0) {
      const still: HeapItem[] = [];
      for (const x of this.pending) if (this.live(x) && !this.flag(x.n, nowMs)) still.push(x);
      this.pending = still;
    }
    while (this.heap.length > 0 && (this.heap[0] as HeapItem).deadlineMs < nowMs + SLACK_MS) {
      const x = this.pop();
      if (this.live(x) && !this.flag(x.n, nowMs)) this.pending.push(x);
    }
    return true;
  }

  /** Flags n stale when the rule says so at nowMs; whether it did. */
  private flag(n: Node, nowMs: number): boolean {
    if (!isStaleAt(n.f.lastSeenMs, n.f.staleAfterMs, nowMs)) return false;
    n.stale = true;
    this.changes++;
    this.staleByBase[n.f.base]++;
    return true;
  }

  /** Agents by fleet status at nowMs (stale in place of each base status it covers). */
  byStatusAt(nowMs: number): Record<AgentStatus, number> {
    const out = { ...this.base };
    const stale = this.sweep(nowMs) ? this.staleByBase : this.countStale(nowMs);
    for (const s of SEVERITY_ORDER) {
      if (s === 'stale') continue;
      out[s] -= stale[s];
      out.stale += stale[s];
    }
    return out;
  }

  private countStale(nowMs: number): Record<AgentStatus, number> {
    const c = emptyByStatus();
    for (const n of this.byHost) if (isStaleAt(n.f.lastSeenMs, n.f.staleAfterMs, nowMs)) c[n.f.base]++;
    return c;
  }

  /** The rule at nowMs for one node: the kept flag when nowMs is the swept instant (`kept`). */
  private staleTest(nowMs: number): { kept: boolean; isStale: (n: Node) => boolean } {
    return this.sweep(nowMs) ? { kept: true, isStale: (n) => n.stale } : { kept: false, isStale: (n) => isStaleAt(n.f.lastSeenMs, n.f.staleAfterMs, nowMs) };
  }

  /** The page kept for this order, offset and limit when nothing changed since it was made. */
  private remembered(order: 'id' | 'severity', offset: number, limit: number): FleetKey[] | null {
    const m = this.memo.get(order);
    return m && m.offset === offset && m.limit === limit && m.changes === this.changes ? m.keys : null;
  }

  /**
   * The worst-first page at nowMs: SEVERITY_ORDER, then hostname, then agent_id (BINARY), each
   * status a filtered walk of the (hostname, agent_id) order; statuses before the page are
   * skipped by their counts.
   */
  worstFirst(nowMs: number, offset: number, limit: number): FleetKey[] {
    const counts = this.byStatusAt(nowMs);
    const { kept, isStale } = this.staleTest(nowMs);
    const again = kept ? this.remembered('severity', offset, limit) : null;
    if (again) return again;
    const out: FleetKey[] = [];
    let skip = offset;
    for (const status of SEVERITY_ORDER) {
      if (out.length >= limit) break;
      const n = counts[status];
      if (skip >= n) {
        skip -= n;
        continue;
      }
      let seen = 0;
      for (const node of this.byHost) {
        const stale = isStale(node);
        if (status === 'stale' ? !stale : stale || node.f.base !== status) continue;
        if (seen++ < skip) continue;
        out.push([node.key, node.f.version, status]);
        if (out.length >= limit || seen >= n) break;
      }
      skip = 0;
    }
    if (kept) this.memo.set('severity', { offset, limit, changes: this.changes, keys: out });
    return out;
  }

  /** The page of the fleet by agent_id (BINARY) at nowMs (the same array as the last answer when nothing changed: read-only). */
  byIdPage(nowMs: number, offset: number, limit: number): FleetKey[] {
    const { kept, isStale } = this.staleTest(nowMs);
    const again = kept ? this.remembered('id', offset, limit) : null;
    if (again) return again;
    const end = Math.min(this.byIdOrder.length, offset + limit);
    const out: FleetKey[] = [];
    for (let i = offset; i < end; i++) {
      const n = this.byIdOrder[i] as Node;
      out.push([n.key, n.f.version, isStale(n) ? 'stale' : n.f.base]);
    }
    if (kept) this.memo.set('id', { offset, limit, changes: this.changes, keys: out });
    return out;
  }

  /** Forgets the stale flags (before a sweep to an earlier instant). */
  private rebase(): void {
    this.changes++;
    for (const n of this.nodes.values()) n.stale = false;
    this.staleByBase = emptyByStatus();
    this.sweptMs = -Infinity;
    this.rebuildHeap();
  }

  private rebuildHeap(): void {
    this.heap = [];
    this.pending = [];
    for (const n of this.nodes.values()) if (!n.stale && n.f.staleAfterMs !== null) this.heap.push(item(n));
    this.heapify();
  }

  private heapify(): void {
    for (let i = (this.heap.length >>> 1) - 1; i >= 0; i--) this.down(i);
  }

  private push(n: HeapItem): void {
    const h = this.heap;
    h.push(n);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >>> 1;
      if ((h[p] as HeapItem).deadlineMs <= n.deadlineMs) break;
      h[i] = h[p] as HeapItem;
      i = p;
    }
    h[i] = n;
  }

  private pop(): HeapItem {
    const h = this.heap;
    const top = h[0] as HeapItem;
    const last = h.pop() as HeapItem;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h[i] as HeapItem;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as HeapItem).deadlineMs < (h[l] as HeapItem).deadlineMs ? r : l;
      if ((h[c] as HeapItem).deadlineMs >= n.deadlineMs) break;
      h[i] = h[c] as HeapItem;
      i = c;
    }
    h[i] = n;
  }
}
