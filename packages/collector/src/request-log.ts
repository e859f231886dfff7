/**
 * What a request log line may carry, and how many of them.
 *
 * Secrets: a token may arrive in any header a client or proxy uses for one (Authorization,
 * Proxy-Authorization, Cookie, X-Api-Key, X-Auth-Token...) or in the query string (`?token=`,
 * `?access_token=`, RFC 6750 §2.3). Every header whose name can hold one is written as
 * "[redacted]"; the query string of /v1/reports is never written (agents have no reason to send
 * one, so whatever is there is a mistake or an attack), and elsewhere the value of every parameter
 * whose name can hold a secret is redacted.
 *
 * Volume: refused requests (4xx) are logged at a bounded rate — `perWindow` lines per `windowMs`
 * — and the ones left out are counted and reported in one line per window, so 10 s of garbage
 * writes a few dozen lines instead of 94 MiB. Metrics count every refusal regardless.
 */
export const REDACTED = '[redacted]';

/** Header names that can carry a credential (lower case, as Node gives them). */
const SECRET_HEADER_RE = /(^|-)(authorization|auth|cookie|token|key|secret|pass(word)?|session|signature|credential)s?($|-)/;
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'x-auth-token', 'x-access-token', 'x-csrf-token']);
/** Query parameter names that can carry a credential. */
const SECRET_PARAM_RE = /token|key|secret|pass|auth|sig|session|credential|code/i;

export function isSecretHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_HEADERS.has(n) || SECRET_HEADER_RE.test(n);
}

/** A copy of the headers with every secret-bearing value replaced by "[redacted]". */
export function redactHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!headers) return headers;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretHeader(k) ? REDACTED : v;
  return out;
}

/** The URL as it may be logged: no query on /v1/reports; elsewhere secret parameters redacted. */
export function loggableUrl(url: string | undefined): string | undefined {
  if (url === undefined) return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const path = url.slice(0, q);
  if (path === '/v1/reports' || path.startsWith('/v1/reports/')) return `${path}?${REDACTED}`;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=');
      const name = eq < 0 ? p : p.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the raw name
      }
      return SECRET_PARAM_RE.test(decoded) ? `${name}=${REDACTED}` : p;
    });
  return `${path}?${parts.join('&')}`;
}

/** What a log line says about a request (pino's `req` serializer). */
export function serializeRequest(req: { method?: string; url?: string; headers?: Record<string, unknown>; socket?: { remoteAddress?: string } }) {
  return { method: req.method, url: loggableUrl(req.url), headers: redactHeaders(req.headers), remoteAddress: req.socket?.remoteAddress };
}

export interface RefusalLogOptions {
  /** Lines written per window (default 20). */
  perWindow?: number;
  /** Window length, ms (default 10 s). */
  windowMs?: number;
  nowMs?: () => number;
  /** Writes one refused request. */
  write: (fields: Record<string, unknown>) => void;
  /** Writes the count of refusals not written in a window that has ended. */
  writeSuppressed: (suppressed: number, windowMs: number) => void;
}

/**
 * A fixed-window limiter for refusal log lines. The summary of a window with suppressed lines is
 * written when the window ends (an unref'd timer, so it never holds the process) or on flush().
 */
export class RefusalLog {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStartMs = -Infinity;
  private written = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RefusalLogOptions) {
    this.perWindow = Math.max(1, o.perWindow ?? 20);
    this.windowMs = Math.max(1, o.windowMs ?? 10_000);
    this.now = o.nowMs ?? Date.now;
  }

  /** Logs the refusal or counts it as suppressed; returns whether it was written. */
  refused(fields: Record<string, unknown>): boolean {
    const t = this.now();
    if (t - this.windowStartMs >= this.windowMs) {
      this.flush();
      this.windowStartMs = t;
      this.written = 0;
    }
    if (this.written < this.perWindow) {
      this.written++;
      this.o.write(fields);
      return true;
    }
    this.suppressed++;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStartMs + this.windowMs - t));
      this.timer.unref();
    }
    return false;
  }

  /** Writes the pending suppressed count, if any. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.suppressed > 0) {
      const n = this.suppressed;
      this.suppressed = 0;
      this.o.writeSuppressed(n, this.windowMs);
    }
  }
}
