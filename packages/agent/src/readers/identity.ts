/**
 * Who this guest is:
 * - machine-id: /etc/machine-id (machine-id(5): 32 lowercase hex digits and a newline), else
 *   /var/lib/dbus/machine-id (EL6 and other pre-systemd systems).
 * - SMBIOS system UUID: /sys/class/dmi/id/product_uuid (drivers/firmware/dmi-id.c; mode 0400, so
 *   root only). It equals the libvirt domain <uuid>.
 * - hostname: /proc/sys/kernel/hostname (the kernel's UTS name), else /etc/hostname.
 * The agent id is the machine-id, else the SMBIOS UUID, else an id generated once and kept in the
 * spool directory (the caller owns that file).
 */
import os from 'node:os';
import { readOptional } from '../context.js';

/** machine-id(5): 32 hex characters; the all-zero id and "uninitialized" (first boot) are not ids. */
export function parseMachineId(text: string): string | null {
  const t = text.trim().toLowerCase();
  return /^[0-9a-f]{32}$/.test(t) && !/^0+$/.test(t) ? t : null;
}

/** DMI product_uuid: a UUID; placeholder values that firmware ships (all zero / all F) are not ids. */
export function parseSmbiosUuid(text: string): string | null {
  const t = text.trim().toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t)) return null;
  const hex = t.replace(/-/g, '');
  return /^0+$/.test(hex) || /^f+$/.test(hex) ? null : t;
}

export interface IdentityFacts {
  machineId: string | null;
  machineIdSource: string | null;
  systemUuid: string | null;
  hostname: string;
}

export async function readIdentity(root: string): Promise<IdentityFacts> {
  let machineId: string | null = null;
  let machineIdSource: string | null = null;
  for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const text = await readOptional(root, p);
    const id = text === null ? null : parseMachineId(text);
    if (id) {
      machineId = id;
      machineIdSource = p;
      break;
    }
  }
  const uuidText = await readOptional(root, '/sys/class/dmi/id/product_uuid');
  const systemUuid = uuidText === null ? null : parseSmbiosUuid(uuidText);
  let hostname = (await readOptional(root, '/proc/sys/kernel/hostname')) ?? (await readOptional(root, '/etc/hostname'));
  if (!hostname && root === '/') hostname = os.hostname();
  return { machineId, machineIdSource, systemUuid, hostname: (hostname ?? '').split('\n')[0]!.slice(0, 256) };
}
