/**
 * Helpers over the zoneinfo tree under the root: symlink resolution that stays inside the root (an
 * absolute link `/etc/localtime -> /usr/share/zoneinfo/X` in a mounted guest must not resolve on
 * the host), zone names from paths, and the content search that names a copied /etc/localtime
 * (domain.md §4.2: walk the tree including symlinks, skip posix/, right/ and non-zone files,
 * collect every byte-identical file, prefer names listed in zone1970.tab / zone.tab).
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { underRoot } from '../context.js';

export const ZONEINFO_DIR = '/usr/share/zoneinfo';

/**
 * Resolves a guest path component by component, following symlinks relative to the root
 * (like realpath(3) in a chroot). Returns the resolved guest path, or null when a component is
 * missing or the chain loops (more than 40 links, as SYMLOOP_MAX on Linux).
 */
export async function realpathUnderRoot(root: string, guestPath: string): Promise<string | null> {
  let pending = guestPath.split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = '/' + [...resolved, part].join('/');
    let st;
    try {
      st = lstatSync(underRoot(root, candidate));
    } catch {
      return null;
    }
    if (!st.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > 40) return null;
    const target = readlinkSync(underRoot(root, candidate));
    pending = [...target.split('/').filter(Boolean), ...pending];
    if (target.startsWith('/')) resolved = [];
  }
  return '/' + resolved.join('/');
}

export interface ZonePathName {
  name: string;
  /** A right/ zone counts leap seconds: clocks set from it are 27 s off POSIX time. */
  right: boolean;
}

/** `../usr/share/zoneinfo/posix/Europe/Berlin` → Europe/Berlin (part after the last `/zoneinfo/`, posix/ dropped). */
export function zoneNameFromPath(p: string): ZonePathName | null {
  const i = p.lastIndexOf('zoneinfo/');
  if (i < 0) return null;
  let name = p.slice(i + 'zoneinfo/'.length).replace(/^\/+/, '');
  let right = false;
  if (name.startsWith('posix/')) name = name.slice(6);
  else if (name.startsWith('right/')) {
    name = name.slice(6);
    right = true;
  }
  if (!name || name === 'posixrules' || name === 'localtime') return null;
  return { name, right };
}

const SKIP_TOP = new Set(['posix', 'right', 'posixrules', 'localtime', 'Factory', 'tzdata.zi', 'leapseconds', 'leap-seconds.list', '+VERSION', 'SECURITY']);

async function canonicalNames(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const tab of ['zone1970.tab', 'zone.tab']) {
    try {
      const text = readFileSync(underRoot(root, `${ZONEINFO_DIR}/${tab}`), 'utf8');
      for (const line of text.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const name = line.split('\t')[2];
        if (name) names.add(name.trim());
      }
    } catch {
      // tab files are optional
    }
  }
  return names;
}

export interface ZoneMatch {
  /** Every zone name whose file is byte-identical, canonical names first, then alphabetical. */
  names: string[];
  canonical: string[];
  /** Files compared (for the footprint: the walk runs once per distinct /etc/localtime content). */
  scanned: number;
}

const matchCache = new Map<string, ZoneMatch>();

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Names every zone file under the root's zoneinfo tree whose bytes equal `content`. Cached by content hash. */
export async function findZoneMatches(root: string, content: Uint8Array): Promise<ZoneMatch> {
  const key = `${root}\0${sha256(content)}`;
  const cached = matchCache.get(key);
  if (cached) return cached;
  const found: string[] = [];
  let scanned = 0;
  const base = underRoot(root, ZONEINFO_DIR);
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 4) return;
    let entries;
    try {
      entries = readdirSync(path.join(base, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (depth === 0 && SKIP_TOP.has(e.name)) continue;
      if (e.name.endsWith('.tab')) continue;
      const relName = rel ? `${rel}/${e.name}` : e.name;
      let hostPath = path.join(base, relName);
      if (e.isSymbolicLink()) {
        const real = await realpathUnderRoot(root, `${ZONEINFO_DIR}/${relName}`);
        if (!real) continue;
        hostPath = underRoot(root, real);
      }
      let st;
      try {
        st = statSync(hostPath);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!e.isSymbolicLink()) await walk(relName, depth + 1);
        continue;
      }
      if (!st.isFile() || st.size !== content.byteLength) continue;
      scanned++;
      try {
        if (readFileSync(hostPath).equals(Buffer.from(content))) found.push(relName);
      } catch {
        // unreadable file: not a match
      }
    }
  };
  await walk('', 0);
  const canonicalSet = await canonicalNames(root);
  const canonical = found.filter((n) => canonicalSet.has(n)).sort();
  const names = [...canonical, ...found.filter((n) => !canonicalSet.has(n)).sort()];
  const result = { names, canonical, scanned };
  if (matchCache.size > 16) matchCache.clear();
  matchCache.set(key, result);
  return result;
}
