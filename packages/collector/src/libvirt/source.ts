/**
 * Where domain XML comes from: a directory of persistent definitions (`--libvirt-xml-dir`, e.g.
 * /etc/libvirt/qemu, or /run/libvirt/qemu for live `<domstatus>` files) and/or `virsh` against a
 * connection URI (`--libvirt-uri`): `virsh -r -c URI list --all --uuid`, then `virsh -r -c URI
 * dumpxml UUID` for each (domain.md §7.4). `-r` (`--readonly`, virsh(1)) opens a read-only
 * connection (virConnectOpenReadOnly): the audit only reads, so it asks for no more, and libvirtd
 * refuses any change made over it ("read only access prevents virDomainDestroy"). A read-only
 * connection to qemu:///system is allowed to any local user by libvirtd's default polkit rule
 * (org.libvirt.unix.monitor); dumpxml over it omits only security-sensitive parts (VNC/SPICE
 * passwords), which the clock audit never needs. Reading is split from parsing (parseDomainXml is pure); every
 * failure — a missing directory, an unreadable or oversized file, a failed command — becomes an
 * entry in `errors`, never an exception, so one bad domain never hides the others.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, normalizeUuid, parseDomainXml, type CommandRunner, type LibvirtDomain } from '@clockwatch/shared';

export interface DomainEntry {
  /** Where it came from: the file path, or `virsh -r -c URI dumpxml UUID`. */
  source: string;
  domain: LibvirtDomain;
  /**
   * The inactive definition of a running domain (`virsh dumpxml --inactive`), what it boots with
   * next; absent when it could not be read or the domain is not running.
   */
  nextBoot?: LibvirtDomain | null;
}

export interface DomainSourceError {
  /** The file path or the command that failed. */
  source: string;
  code: string;
  message: string;
}

export interface DomainSourceResult {
  domains: DomainEntry[];
  errors: DomainSourceError[];
}

export interface DirOptions {
  /** Larger files are refused (a domain definition is a few kB; live status files some tens). */
  maxFileBytes?: number;
  /** At most this many `*.xml` files are read; the rest are reported as one error. */
  maxFiles?: number;
}

export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;

function fsError(source: string, e: unknown): DomainSourceError {
  const err = e as NodeJS.ErrnoException;
  const code = err.code === 'ENOENT' ? ErrorCodes.NOT_FOUND : err.code === 'EACCES' || err.code === 'EPERM' ? ErrorCodes.PERMISSION : ErrorCodes.READ;
  return { source, code, message: `${source}: ${err.code === 'EACCES' ? 'permission denied (libvirt keeps domain XML readable by root only)' : err.message}` };
}

async function readBounded(path: string, maxBytes: number): Promise<{ text: string } | { error: DomainSourceError }> {
  let fh;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile()) return { error: { source: path, code: ErrorCodes.READ, message: `${path}: not a regular file` } };
    if (st.size > maxBytes) return { error: { source: path, code: ErrorCodes.READ, message: `${path}: ${st.size} bytes, larger than the ${maxBytes}-byte limit for domain XML` } };
    // Read at most maxBytes + 1 whatever stat said: the file may grow between stat and read.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) break;
    }
    if (n > maxBytes) return { error: { source: path, code: ErrorCodes.READ, message: `${path}: larger than the ${maxBytes}-byte limit for domain XML` } };
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n)) };
    } catch {
      return { error: { source: path, code: ErrorCodes.PARSE, message: `${path}: not UTF-8 text` } };
    }
  } catch (e) {
    return { error: fsError(path, e) };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function parseInto(result: DomainSourceResult, source: string, text: string): void {
  const parsed = parseDomainXml(text);
  if (parsed.ok) result.domains.push({ source, domain: parsed.domain });
  else result.errors.push({ source, code: parsed.error.code, message: `${source}: ${parsed.error.message}` });
}

/** Reads every `*.xml` file directly in `dir` (subdirectories such as networks/ and autostart/ are not entered). */
export async function readDomainXmlDir(dir: string, options: DirOptions = {}): Promise<DomainSourceResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_XML_BYTES;
  const maxFiles = options.maxFiles ?? 10_000;
  const result: DomainSourceResult = { domains: [], errors: [] };
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => !e.isDirectory() && e.name.endsWith('.xml') && !e.name.startsWith('.')).map((e) => e.name);
  } catch (e) {
    result.errors.push(fsError(dir, e));
    return result;
  }
  names.sort();
  if (names.length > maxFiles) {
    result.errors.push({ source: dir, code: ErrorCodes.READ, message: `${dir}: ${names.length} XML files, only the first ${maxFiles} were read` });
    names = names.slice(0, maxFiles);
  }
  for (const name of names) {
    const path = join(dir, name);
    const r = await readBounded(path, maxBytes);
    if ('error' in r) result.errors.push(r.error);
    else parseInto(result, path, r.text);
  }
  return result;
}

export interface VirshOptions {
  /** Per-command timeout, ms. */
  timeoutMs?: number;
  /** dumpxml commands run at once. */
  concurrency?: number;
  /** The virsh binary. */
  virsh?: string;
  maxXmlBytes?: number;
}

const UUID_LINE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function commandError(source: string, r: { code: number | null; stderr: string; error?: string }): DomainSourceError {
  if (r.error === 'TIMEOUT') return { source, code: ErrorCodes.COMMAND_TIMEOUT, message: `${source}: timed out` };
  if (r.error === 'ENOENT') return { source, code: ErrorCodes.COMMAND_FAILED, message: `${source}: virsh is not installed (Debian: libvirt-clients)` };
  // virsh prints "error: failed to connect to the hypervisor\nerror: <cause>": the last line is the cause.
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const detail = lines.length > 0 ? lines.slice(-2).join(': ').replace(/^error: /, '').replace(/: error: /, ': ') : (r.error ?? `exit code ${r.code}`);
  return { source, code: ErrorCodes.COMMAND_FAILED, message: `${source}: ${detail.slice(0, 500)}` };
}

/** Lists every domain (running or not) of a libvirt connection and reads each one's XML with virsh. */
export async function readDomainsViaVirsh(runner: CommandRunner, uri: string, options: VirshOptions = {}): Promise<DomainSourceResult> {
  const virsh = options.virsh ?? 'virsh';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBytes = options.maxXmlBytes ?? DEFAULT_MAX_XML_BYTES;
  const result: DomainSourceResult = { domains: [], errors: [] };
  const run = async (args: string[]) => {
    try {
      return await runner(virsh, args, { timeoutMs });
    } catch (e) {
      // The runner contract says it never throws; a buggy one must not take the audit down.
      return { code: null, stdout: '', stderr: '', error: (e as Error).message };
    }
  };
  // Least privilege: a read-only connection (see the header).
  const conn = ['-r', '-c', uri];
  const listArgs = [...conn, 'list', '--all', '--uuid'];
  const listed = await run(listArgs);
  const listSource = `${virsh} ${listArgs.join(' ')}`;
  if (listed.code !== 0 || listed.error) {
    result.errors.push(commandError(listSource, listed));
    return result;
  }
  const uuids: string[] = [];
  for (const line of listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    // Only UUIDs go back into argv: nothing virsh printed can turn into an option.
    if (UUID_LINE.test(line)) uuids.push(line.toLowerCase());
    else result.errors.push({ source: listSource, code: ErrorCodes.PARSE, message: `${listSource}: unexpected line '${line.slice(0, 100)}'` });
  }
  let next = 0;
  const slots: DomainSourceResult[] = uuids.map(() => ({ domains: [], errors: [] }));
  const worker = async () => {
    while (next < uuids.length) {
      const i = next++;
      const uuid = uuids[i] as string;
      const slot = slots[i] as DomainSourceResult;
      const args = [...conn, 'dumpxml', uuid];
      const source = `${virsh} ${args.join(' ')}`;
      const r = await run(args);
      if (r.code !== 0 || r.error) slot.errors.push(commandError(source, r));
      else if (r.stdout.length > maxBytes) slot.errors.push({ source, code: ErrorCodes.READ, message: `${source}: output larger than ${maxBytes} bytes` });
      else parseInto(slot, source, r.stdout);
      // A running domain may have been redefined (virsh define / edit) since it started: its
      // inactive XML is what the next boot uses (virsh(1) dumpxml --inactive).
      const live = slot.domains[slot.domains.length - 1];
      if (live && live.domain.live) {
        const inactive = await run([...conn, 'dumpxml', '--inactive', uuid]);
        if (inactive.code === 0 && !inactive.error && inactive.stdout.length <= maxBytes) {
          const parsed = parseDomainXml(inactive.stdout);
          if (parsed.ok) live.nextBoot = parsed.domain;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, uuids.length)) }, worker));
  for (const s of slots) {
    result.domains.push(...s.domains);
    result.errors.push(...s.errors);
  }
  return result;
}

/**
 * Merges results from several sources; a domain seen twice (same UUID) is kept once, preferring
 * live XML (it holds the current `variable` adjustment) and otherwise the first source given.
 */
export function mergeDomainSources(results: readonly DomainSourceResult[]): DomainSourceResult {
  const out: DomainSourceResult = { domains: [], errors: [] };
  const index = new Map<string, number>();
  for (const r of results) {
    out.errors.push(...r.errors);
    for (const entry of r.domains) {
      const uuid = normalizeUuid(entry.domain.uuid);
      const at = uuid === null ? undefined : index.get(uuid);
      if (at === undefined) {
        if (uuid !== null) index.set(uuid, out.domains.length);
        out.domains.push(entry);
      } else if (entry.domain.live && !(out.domains[at] as DomainEntry).domain.live) {
        out.domains[at] = entry;
      }
    }
  }
  return out;
}

export interface LibvirtSourceConfig {
  xmlDir?: string | null;
  uri?: string | null;
  runner?: CommandRunner;
  dir?: DirOptions;
  virsh?: VirshOptions;
}

/** Reads from whichever of `--libvirt-xml-dir` and `--libvirt-uri` is configured (virsh first: live XML wins). */
export async function readLibvirtDomains(config: LibvirtSourceConfig): Promise<DomainSourceResult> {
  const parts: DomainSourceResult[] = [];
  if (config.uri) {
    if (!config.runner) throw new Error('readLibvirtDomains: a CommandRunner is required with a libvirt URI');
    parts.push(await readDomainsViaVirsh(config.runner, config.uri, config.virsh));
  }
  if (config.xmlDir) parts.push(await readDomainXmlDir(config.xmlDir, config.dir));
  return mergeDomainSources(parts);
}
