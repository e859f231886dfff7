/**
 * Per-agent rate limit on report requests: a token bucket per agent id holding `burst` requests,
 * refilled at `perMinute` per minute. A request that carries reports of several agents (a relay's
 * spool) takes one token from each. Buckets that are full again are forgotten, so memory follows
 * the number of agents actually sending, not the fleet size.
 */
export interface RateLimitOptions {
  /** Sustained requests per minute per agent; 0 disables the limit. */
  perMinute: number;
  /** Bucket size (requests that may arrive at once); default = perMinute. */
  burst?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;
  private readonly burst: number;
  private lastSweepMs = 0;

  constructor(private readonly options: RateLimitOptions) {
    this.ratePerMs = options.perMinute / 60_000;
    this.burst = Math.max(1, options.burst ?? options.perMinute);
  }

  get enabled(): boolean {
    return this.options.perMinute > 0;
  }

  private level(id: string, nowMs: number): Bucket {
    let b = this.buckets.get(id);
    if (!b) {
      b = { tokens: this.burst, atMs: nowMs };
      this.buckets.set(id, b);
    } else if (nowMs > b.atMs) {
      b.tokens = Math.min(this.burst, b.tokens + (nowMs - b.atMs) * this.ratePerMs);
      b.atMs = nowMs;
    }
    return b;
  }

  /**
   * Takes one token from each agent's bucket if every one has a token; otherwise takes none and
   * returns how many seconds until the emptiest bucket has one.
   */
  take(agentIds: Iterable<string>, nowMs: number): { ok: true } | { ok: false; retryAfterS: number; agentId: string } {
    if (!this.enabled) return { ok: true };
    this.sweep(nowMs);
    const buckets: Bucket[] = [];
    for (const id of agentIds) {
      const b = this.level(id, nowMs);
      if (b.tokens < 1) return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerMs / 1000)), agentId: id };
      buckets.push(b);
    }
    for (const b of buckets) b.tokens -= 1;
    return { ok: true };
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < 60_000) return;
    this.lastSweepMs = nowMs;
    const fullAfterMs = this.burst / this.ratePerMs;
    for (const [id, b] of this.buckets) if (nowMs - b.atMs >= fullAfterMs) this.buckets.delete(id);
  }
}
