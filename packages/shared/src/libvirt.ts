/**
 * libvirt domain XML: a small, safe parser for the parts clockwatch audits (name, uuid, OS family
 * hint, `<clock>` and its `<timer>`s) and the `libvirt-clock` check (domain.md §7).
 *
 * Pure: no I/O, no Date.now(). The XML reader accepts what libvirt writes (persistent files in
 * /etc/libvirt/qemu, `virsh dumpxml` output, live `<domstatus>` files in /run/libvirt/qemu) and
 * refuses what it never writes: a DOCTYPE (so no entity can expand), custom entities, input beyond
 * a size, depth or element bound.
 */
import { parseXml, type XmlElement, type XmlLimits } from './xml.js';

export { parseXml, XmlError, DEFAULT_XML_LIMITS, type XmlElement, type XmlLimits } from './xml.js';


const child = (el: XmlElement | undefined, local: string) => el?.children.find((c) => c.local === local && c.ns === null);
const attr = (el: XmlElement | undefined, name: string): string | null => (el && name in el.attrs ? (el.attrs[name] as string) : null);

// ---------------------------------------------------------------------------------------------
// Domain model

export type GuestFamily = 'linux' | 'windows';

export interface LibvirtTimer {
  name: string;
  tickpolicy: string | null;
  present: string | null;
  track: string | null;
}

export interface LibvirtClock {
  /** utc, localtime, timezone, variable, absolute (or whatever is written: reported as unknown). */
  offset: string;
  adjustment: string | null;
  basis: string | null;
  timezone: string | null;
  start: string | null;
  timers: LibvirtTimer[];
}

export interface LibvirtDomain {
  name: string | null;
  /** Canonical lowercase 8-4-4-4-12 form; null when absent or not a UUID. */
  uuid: string | null;
  /** `<domain type=...>`: kvm, qemu, xen, lxc... */
  type: string | null;
  /** `<os><type arch=...>`: x86_64, i686, aarch64... */
  arch: string | null;
  /** libosinfo id from `<metadata>` (virt-install and virt-manager write it). */
  osinfoId: string | null;
  osFamilyHint: GuestFamily | null;
  /** null when the domain has no `<clock>` element (libvirt then uses offset='utc'). */
  clock: LibvirtClock | null;
  /** True for live XML: a `<domstatus>` wrapper or a running domain's `id` attribute. */
  live: boolean;
  /** `<domstatus state=...>` of a live status file. */
  state: string | null;
  /** What the parser noticed but could not use (bad uuid, duplicate timers). */
  notes: string[];
}

export type DomainParseResult = { ok: true; domain: LibvirtDomain } | { ok: false; error: { code: 'CW_ERR_PARSE'; message: string } };

const LIBOSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0';

/** Canonical form of a UUID (any case, with or without hyphens or braces); null if it is not one. */
export function normalizeUuid(text: string | null | undefined): string | null {
  if (!text) return null;
  const hex = text.trim().replace(/^\{|\}$/g, '').replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// libosinfo ids are URIs of the OS vendor (virtinst/osdict.py keys clock choice on the family).
const LINUX_OSINFO = /^https?:\/\/(?:[a-z0-9.-]*\.)?(?:fedoraproject\.org|redhat\.com\/rhel|centos\.org|debian\.org|ubuntu\.com|opensuse\.org|suse\.com|novell\.com\/suse|archlinux\.org|almalinux\.org|rockylinux\.org|oracle\.com\/ol|alpinelinux\.org|gentoo\.org|libosinfo\.org\/linux|mageia\.org|linuxmint\.com|nixos\.org|kali\.org|voidlinux\.org|clearlinux\.org|mandriva\.com|slackware\.com|endlessos\.com|cirros-cloud\.net|coreos\.fedoraproject\.org)\//i;

/** OS family a libosinfo id names: Microsoft → windows, known Linux vendors → linux, else null. */
export function familyFromOsinfoId(id: string | null): GuestFamily | null {
  if (!id) return null;
  if (/^https?:\/\/microsoft\.com\/win/i.test(id)) return 'windows';
  if (LINUX_OSINFO.test(id)) return 'linux';
  return null;
}

/** OS family from an agent report's `os.platform` (Node's os.platform()). */
export function familyFromPlatform(platform: string | null | undefined): GuestFamily | null {
  if (platform === 'win32') return 'windows';
  if (platform === 'linux') return 'linux';
  return null;
}

/** Parses domain XML (persistent, `virsh dumpxml`, or a live `<domstatus>` file). Never throws. */
export function parseDomainXml(text: string, limits: Partial<XmlLimits> = {}): DomainParseResult {
  let root: XmlElement;
  try {
    root = parseXml(text, limits);
  } catch (e) {
    return { ok: false, error: { code: 'CW_ERR_PARSE', message: `not well-formed XML: ${(e as Error).message}` } };
  }
  let dom: XmlElement | undefined = root;
  let state: string | null = null;
  const wrapped = root.local === 'domstatus';
  if (wrapped) {
    state = attr(root, 'state');
    dom = child(root, 'domain');
    if (!dom) return { ok: false, error: { code: 'CW_ERR_PARSE', message: '<domstatus> holds no <domain> element' } };
  } else if (root.local !== 'domain' || root.ns !== null) {
    return { ok: false, error: { code: 'CW_ERR_PARSE', message: `not libvirt domain XML: the root element is <${root.name}>` } };
  }
  const notes: string[] = [];
  const rawUuid = child(dom, 'uuid')?.text.trim() ?? null;
  const uuid = normalizeUuid(rawUuid);
  if (rawUuid === null) notes.push('no <uuid> element');
  else if (uuid === null) notes.push(`<uuid> '${rawUuid.slice(0, 64)}' is not a UUID`);

  let osinfoId: string | null = null;
  for (const m of child(dom, 'metadata')?.children ?? []) {
    if (m.ns !== LIBOSINFO_NS || m.local !== 'libosinfo') continue;
    const os = m.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'os');
    osinfoId = attr(os, 'id');
  }

  let clock: LibvirtClock | null = null;
  const c = child(dom, 'clock');
  if (c) {
    const timers: LibvirtTimer[] = [];
    for (const t of c.children) {
      if (t.local !== 'timer' || t.ns !== null) continue;
      const name = attr(t, 'name');
      if (!name) continue;
      if (timers.some((x) => x.name === name)) {
        notes.push(`timer '${name}' is listed twice; the first is used`);
        continue;
      }
      timers.push({ name, tickpolicy: attr(t, 'tickpolicy'), present: attr(t, 'present'), track: attr(t, 'track') });
    }
    clock = {
      // libvirt's schema default for <clock> without offset is utc.
      offset: attr(c, 'offset') ?? 'utc',
      adjustment: attr(c, 'adjustment'),
      basis: attr(c, 'basis'),
      timezone: attr(c, 'timezone'),
      start: attr(c, 'start'),
      timers,
    };
  }
  return {
    ok: true,
    domain: {
      name: child(dom, 'name')?.text.trim() || null,
      uuid,
      type: attr(dom, 'type'),
      arch: attr(child(child(dom, 'os'), 'type'), 'arch'),
      osinfoId,
      osFamilyHint: familyFromOsinfoId(osinfoId),
      clock,
      live: wrapped || attr(dom, 'id') !== null,
      state,
      notes,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Joining domains to agents

export interface DomainAgentJoin<D, A> {
  matched: { domain: D; agent: A }[];
  domainsWithoutAgent: D[];
  /** Agents whose systemUuid is null, not a UUID, or no domain's. */
  agentsWithoutDomain: A[];
  /** UUIDs held by more than one domain or more than one agent (cloned images keep the SMBIOS UUID of their template only if libvirt was told so). */
  duplicates: { uuid: string; domains: D[]; agents: A[] }[];
}

/**
 * Joins domains to agents by the SMBIOS system UUID the agent reports (libvirt sets it to the
 * domain UUID); case, hyphens and braces are ignored. Every domain–agent pair sharing a UUID is a
 * match; a UUID shared by several domains or several agents is also listed in `duplicates`.
 */
export function joinDomainsToAgents<D extends { uuid: string | null }, A extends { id: string; systemUuid: string | null }>(
  domains: readonly D[],
  agents: readonly A[],
): DomainAgentJoin<D, A> {
  const byUuid = new Map<string, { domains: D[]; agents: A[] }>();
  const slot = (u: string) => {
    let s = byUuid.get(u);
    if (!s) byUuid.set(u, (s = { domains: [], agents: [] }));
    return s;
  };
  const domainsWithoutAgent: D[] = [];
  const agentsWithoutDomain: A[] = [];
  for (const d of domains) {
    const u = normalizeUuid(d.uuid);
    if (u) slot(u).domains.push(d);
    else domainsWithoutAgent.push(d);
  }
  for (const a of agents) {
    const u = normalizeUuid(a.systemUuid);
    if (u) slot(u).agents.push(a);
    else agentsWithoutDomain.push(a);
  }
  const matched: { domain: D; agent: A }[] = [];
  const duplicates: DomainAgentJoin<D, A>['duplicates'] = [];
  for (const [uuid, s] of byUuid) {
    if (s.domains.length > 1 || s.agents.length > 1) duplicates.push({ uuid, domains: s.domains, agents: s.agents });
    if (s.agents.length === 0) domainsWithoutAgent.push(...s.domains);
    else if (s.domains.length === 0) agentsWithoutDomain.push(...s.agents);
    else for (const domain of s.domains) for (const agent of s.agents) matched.push({ domain, agent });
  }
  return { matched, domainsWithoutAgent, agentsWithoutDomain, duplicates };
}
