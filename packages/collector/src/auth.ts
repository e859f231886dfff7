/**
 * Bearer tokens. A tokens file holds one entry per line:
 *
 *   sha256:<64 hex digits>  [PATTERN] [rebind]     # comment
 *
 * The digest is SHA-256 of the token (the collector never stores tokens). PATTERN binds the token:
 * an agent-id pattern (`*` matches any run of characters, e.g. `web-*`), or a label pattern
 * `key=value` (value may use `*`) that the reporting agent's labels must match. No pattern: any
 * agent. Several lines may share a digest (a token bound to several patterns: any may match).
 *
 * Identity (who may write an agent id; labels alone are whatever the report says):
 * - an id that an agent-id PATTERN of some line matches may be written only by a token with such a
 *   matching line: the file reserves it;
 * - any other id belongs to the first token that delivers a report for it, recorded in the store
 *   (store/sqlite-identity.ts); another token is refused (403 CW_ERR_AGENT_BOUND) unless its line
 *   says `rebind`, which moves the id to it (token rotation, a guest moved to another site).
 *
 * Presented tokens are hashed and compared with every entry's digest with
 * crypto.timingSafeEqual, without stopping at the first match, so the time taken does not depend
 * on which entry (or how much of a digest) matched.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { wildcardMatch, type AgentInfo } from '@clockwatch/shared';
import { HttpError } from './errors.js';

export type TokenBinding = { kind: 'any' } | { kind: 'agent'; pattern: string } | { kind: 'label'; key: string; pattern: string };

export interface TokenEntry {
  digest: Buffer;
  binding: TokenBinding;
  /** `rebind`: may take over agent ids another token delivered first. */
  rebind: boolean;
  /** Line number in the file, for messages. */
  line: number;
}

export class TokenFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'TokenFileError';
  }
}

const DIGEST_RE = /^sha256:([0-9a-fA-F]{64})$/;
const LABEL_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;

export function parseTokensText(text: string, file = 'tokens'): TokenEntry[] {
  const entries: TokenEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [first, ...rest] = line.split(/\s+/);
    const m = DIGEST_RE.exec(first ?? '');
    if (!m) throw new TokenFileError(file, i + 1, `expected 'sha256:<64 hex digits>' (run 'clockwatch-collector token new'), got '${(first ?? '').slice(0, 20)}'`);
    const rebind = rest.includes('rebind');
    const words = rest.filter((w) => w !== 'rebind');
    if (rest.filter((w) => w === 'rebind').length > 1) throw new TokenFileError(file, i + 1, "'rebind' once per line");
    const [pattern, extra] = words;
    if (extra !== undefined) throw new TokenFileError(file, i + 1, 'one pattern per line (add a line per pattern)');
    let binding: TokenBinding = { kind: 'any' };
    if (pattern !== undefined) {
      const eq = pattern.indexOf('=');
      if (eq >= 0) {
        const key = pattern.slice(0, eq);
        if (!LABEL_KEY_RE.test(key)) throw new TokenFileError(file, i + 1, `bad label name '${key}' in pattern`);
        binding = { kind: 'label', key, pattern: pattern.slice(eq + 1) };
      } else if (pattern !== '*') {
        binding = { kind: 'agent', pattern };
      }
    }
    entries.push({ digest: Buffer.from((m[1] as string).toLowerCase(), 'hex'), binding, rebind, line: i + 1 });
  });
  return entries;
}

export function loadTokensFile(file: string): TokenEntry[] {
  return parseTokensText(readFileSync(file, 'utf8'), file);
}

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A fresh random token and the tokens-file line for it. */
export function newToken(pattern?: string): { token: string; line: string } {
  const token = `cw_${randomBytes(32).toString('base64url')}`;
  const line = `sha256:${tokenDigest(token).toString('hex')}${pattern ? `  ${pattern}` : ''}`;
  return { token, line };
}

/** The entries a presented token matches (empty: unknown token). Constant time in the secret. */
export function matchToken(entries: readonly TokenEntry[], token: string): TokenEntry[] {
  const d = tokenDigest(token);
  const out: TokenEntry[] = [];
  for (const e of entries) {
    // No early exit: every entry is compared in full.
    if (timingSafeEqual(e.digest, d)) out.push(e);
  }
  return out;
}

export function bindingAllows(b: TokenBinding, agent: Pick<AgentInfo, 'id' | 'labels'>): boolean {
  switch (b.kind) {
    case 'any':
      return true;
    case 'agent':
      return wildcardMatch(b.pattern, agent.id);
    case 'label': {
      const v = agent.labels[b.key];
      return v !== undefined && wildcardMatch(b.pattern, v);
    }
  }
}

/** How the store knows a token: the first 16 bytes of its SHA-256 (already in the tokens file), hex. */
export function tokenFingerprint(entry: Pick<TokenEntry, 'digest'>): string {
  return entry.digest.subarray(0, 16).toString('hex');
}

/**
 * True when the tokens file reserves `agentId` for other tokens: an agent-id pattern of some line
 * matches it, and none of the presented token's lines is such a line.
 */
export function reservedForOthers(all: readonly TokenEntry[], mine: readonly TokenEntry[], agentId: string): boolean {
  const reserving = all.filter((e) => e.binding.kind === 'agent' && wildcardMatch(e.binding.pattern, agentId));
  return reserving.length > 0 && !reserving.some((e) => mine.includes(e));
}

export function describeBinding(b: TokenBinding): string {
  return b.kind === 'any' ? 'any agent' : b.kind === 'agent' ? `agents '${b.pattern}'` : `agents labelled ${b.key}=${b.pattern}`;
}

/** Extracts the bearer token or throws 401 CW_ERR_TOKEN_MISSING. */
export function bearerToken(header: string | undefined): string {
  const m = header ? /^Bearer[ \t]+(\S+)\s*$/i.exec(header) : null;
  if (!m) {
    throw new HttpError('TOKEN_MISSING', undefined, { 'www-authenticate': 'Bearer realm="clockwatch"' });
  }
  return m[1] as string;
}

/** Returns the matching entries or throws 401 (missing / unknown token). */
export function authenticate(entries: readonly TokenEntry[], header: string | undefined): TokenEntry[] {
  const matched = matchToken(entries, bearerToken(header));
  if (matched.length === 0) {
    throw new HttpError('TOKEN_INVALID', undefined, { 'www-authenticate': 'Bearer realm="clockwatch", error="invalid_token"' });
  }
  return matched;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
