/**
 * The page's only way to the collector: same-origin fetch of the JSON API.
 *
 * Read token (--read-tokens): asked for once, kept in sessionStorage (this tab only, gone when it
 * closes), sent as `Authorization: Bearer`. Never in a URL (it would end up in history, logs and
 * Referer headers), never in a cookie (so no request carries it unless this code adds it, which
 * also rules out cross-site request forgery).
 *
 * Polling is conditional: each URL's last ETag goes back as If-None-Match, a 304 returns the body
 * kept from the 200 before, and `changed` tells the caller whether to re-render.
 */
const TOKEN_KEY = 'clockwatch.readToken';

export class AuthError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setReadToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

interface Cached {
  etag: string;
  body: unknown;
}

const cache = new Map<string, Cached>();

export async function getJson<T>(path: string): Promise<{ body: T; changed: boolean }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = readToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const kept = cache.get(path);
  if (kept) headers['if-none-match'] = kept.etag;
  // no-store: the browser's own cache would turn our 304 back into a 200 we cannot tell apart.
  const res = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
  if (res.status === 304 && kept) return { body: kept.body as T, changed: false };
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body ?? {}) as { code?: string; message?: string };
    if (res.status === 401) throw new AuthError(e.code ?? 'CW_ERR_TOKEN_MISSING', e.message ?? 'this collector needs a read token');
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText);
  }
  const etag = res.headers.get('etag');
  if (etag) cache.set(path, { etag, body });
  if (cache.size > 200) cache.delete(cache.keys().next().value as string);
  return { body: body as T, changed: true };
}

export function forgetCache(): void {
  cache.clear();
}
