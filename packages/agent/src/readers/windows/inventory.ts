/**
 * Inventory of a Windows guest through systeminformation (the design card's package), read once at
 * start, never per cycle: on Windows osInfo() and system() run PowerShell `Get-CimInstance`
 * (Win32_OperatingSystem, Win32_ComputerSystem.HypervisorPresent, Win32_ComputerSystemProduct) and
 * uuid() `reg query …\Cryptography /v MachineGuid`, each a process (domain.md §8, §9): a few
 * processes once, which is why this runs at start only.
 * On Linux the agent does not use it: its direct reads give the same facts without the 17 + 14 + 7
 * processes systeminformation starts there (measured; packages/agent/README.md "Windows guests").
 * The module is injected (`SystemInfoSource`) so tests replay recorded answers on Linux.
 */
import type { OsInfo } from '@clockwatch/shared';
import { detectVirtualization } from '../platform.js';
import { parseSmbiosUuid } from '../identity.js';
import type { IdentityFacts } from '../identity.js';

/** The part of systeminformation's API the agent uses (its types: lib/index.d.ts). */
export interface SystemInfoSource {
  osInfo(): Promise<{ distro: string; release: string; kernel: string; arch: string; build: string; codename?: string; hostname: string; hypervisor?: boolean; hypervizor?: boolean }>;
  system(): Promise<{ manufacturer: string; model: string; uuid: string; virtual: boolean; virtualHost?: string }>;
  uuid(): Promise<{ os: string; hardware: string }>;
  powerShellStart?(): void;
  powerShellRelease?(): void;
}

export interface WindowsInventory {
  os: OsInfo;
  identity: IdentityFacts;
}

type OsAnswer = Awaited<ReturnType<SystemInfoSource['osInfo']>>;
type SystemAnswer = Awaited<ReturnType<SystemInfoSource['system']>>;
type UuidAnswer = Awaited<ReturnType<SystemInfoSource['uuid']>>;

const text = (s: string | undefined | null): string | null => (s && s.trim() && s.trim() !== '-' ? s.trim() : null);

/** MachineGuid (HKLM\SOFTWARE\Microsoft\Cryptography): a GUID, Windows' counterpart of /etc/machine-id. */
export function parseMachineGuid(s: string | undefined | null): string | null {
  const t = (s ?? '').trim().toLowerCase().replace(/^\{|\}$/g, '');
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t) && !/^[0-]+$/.test(t) ? t : null;
}

/**
 * Pure: systeminformation's answers → the os section and the identity.
 * - distro: Win32_OperatingSystem Caption (`Microsoft Windows Server 2022 Standard`: product and
 *   edition); release: the version with the build (`10.0.20348`), plus the display version
 *   (`21H2`) when Windows has one; kernel: the NT version.
 * - virtualization: the SMBIOS vendor and product (Win32_ComputerSystemProduct) through the same
 *   table as Linux's DMI; else systeminformation's own guess; `none` when Windows says no
 *   hypervisor is present (Win32_ComputerSystem.HypervisorPresent), null when nothing tells.
 */
export function windowsInventory(osA: OsAnswer | null, sys: SystemAnswer | null, ids: UuidAnswer | null, hostname: string): WindowsInventory {
  const build = text(osA?.build);
  const release = text(osA?.release) ?? (build ? `10.0.${build}` : null);
  const codename = text(osA?.codename);
  let virtualization = sys ? detectVirtualization({ sysVendor: sys.manufacturer, productName: sys.model }) : null;
  if (!virtualization && sys?.virtual) virtualization = text(sys.virtualHost)?.toLowerCase() ?? null;
  const hv = osA?.hypervisor ?? osA?.hypervizor;
  if (!virtualization && sys && !sys.virtual && hv === false) virtualization = 'none';
  const machineId = parseMachineGuid(ids?.os);
  return {
    os: {
      platform: 'win32',
      distro: text(osA?.distro),
      release: release && codename ? `${release} (${codename})` : release,
      kernel: text(osA?.kernel),
      arch: text(osA?.arch),
      virtualization,
    },
    identity: {
      machineId,
      machineIdSource: machineId ? 'HKLM\\SOFTWARE\\Microsoft\\Cryptography MachineGuid' : null,
      systemUuid: sys ? parseSmbiosUuid(sys.uuid) : null,
      hostname: (text(osA?.hostname) ?? hostname).slice(0, 256),
    },
  };
}

/**
 * Loads systeminformation only when a Windows guest needs it, and only the three modules used
 * (osinfo, system, util), not lib/index.js and its every other module.
 */
export async function loadSystemInfo(): Promise<SystemInfoSource> {
  const [osinfo, system, util] = await Promise.all([import('systeminformation/lib/osinfo.js'), import('systeminformation/lib/system.js'), import('systeminformation/lib/util.js')]);
  // What lib/index.js does at load on Windows: find the console code page and powershell.exe.
  util.getCodepage();
  util.getPowershell();
  return {
    osInfo: () => osinfo.osInfo(),
    system: () => system.system(),
    uuid: () => osinfo.uuid(),
    // No powerShellStart(): its spawn has no 'error' handler when powershell.exe cannot be
    // started (util.js registers it only once a pid exists), which would end the agent. One
    // PowerShell per query, once at start, is the price.
  };
}

/** Once at start: three systeminformation calls; a failing call leaves its facts null. */
export async function readWindowsInventory(si: SystemInfoSource, hostname: string): Promise<WindowsInventory> {
  si.powerShellStart?.();
  try {
    const [osA, sys, ids] = await Promise.all([si.osInfo().catch(() => null), si.system().catch(() => null), si.uuid().catch(() => null)]);
    return windowsInventory(osA, sys, ids, hostname);
  } finally {
    si.powerShellRelease?.();
  }
}
