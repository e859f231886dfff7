/**
 * What the offline commands (export, status --db) share: the database opened read-only with a
 * one-line error, the libvirt options and a one-shot read of the domains.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LibvirtAudit } from '../libvirt/audit.js';
import { parseHostAuditParts, type HostAuditPart } from '../libvirt/host-audit.js';
import { ConfigError, nonEmpty, type OptionSpec } from '../options.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import type { CommandIO } from './types.js';

export const LIBVIRT_OPTIONS: readonly OptionSpec[] = [
  { key: 'libvirtXmlDir', flag: 'libvirt-xml-dir', arg: 'DIR', help: 'libvirt domain XML to audit (adds the libvirt-clock check)', parse: nonEmpty },
  {
    key: 'libvirtUri',
    flag: 'libvirt-uri',
    arg: 'URI',
    help: 'audit the domains of this libvirt connection through virsh',
    parse: (t) => {
      if (!/^[a-z][a-z0-9]*(\+[a-z0-9]+)?:\/\/\S*$/i.test(t)) throw new Error(`expected a libvirt URI such as qemu:///system, got '${t}'`);
      return t;
    },
  },
  { key: 'hostAudit', flag: 'host-audit', arg: 'PARTS', help: "after each libvirt read, audit every running domain of --libvirt-uri from the host: rtc (QEMU's RTC through virsh qemu-monitor-command qom-get; needs a read-write connection, and libvirt marks each domain \"tainted: custom-monitor\" in its log), guest-agent (time, zone, OS through qemu-guest-agent: virsh domtime, guestinfo)", parse: parseHostAuditParts },
];

export function readFileOr(where: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The store --db names, for reading (a SQLite file read-only, or a PostgreSQL database). */
export function openStoreReadOnly(db: string, where: string): Promise<Store> {
  return openStore({ db, where, readonly: true });
}

/** Reads the domains once when --libvirt-xml-dir or --libvirt-uri is given; problems go to stderr. */
export async function libvirtAuditFor(v: Record<string, unknown>, io: CommandIO): Promise<LibvirtAudit | null> {
  const xmlDir = (v.libvirtXmlDir as string | undefined) ?? null;
  const uri = (v.libvirtUri as string | undefined) ?? null;
  if (!xmlDir && !uri) return null;
  const hostAudit = (v.hostAudit as HostAuditPart[] | undefined) ?? null;
  if (hostAudit && !uri) throw new ConfigError('--host-audit: needs --libvirt-uri (the audit runs virsh against it)');
  const audit = new LibvirtAudit({ xmlDir, uri, nowMs: () => Date.now(), hostAudit });
  await audit.refresh();
  for (const e of audit.snapshot().errors) io.err(`libvirt: ${e.message}\n`);
  return audit;
}
