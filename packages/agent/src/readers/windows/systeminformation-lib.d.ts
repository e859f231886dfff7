// The three modules of systeminformation the Windows inventory loads (lib/index.js would pull in
// every other module too: ~350 KiB more in the bundle). Types: systeminformation's lib/index.d.ts.
declare module 'systeminformation/lib/osinfo.js' {
  export function osInfo(): Promise<import('systeminformation').Systeminformation.OsData>;
  export function uuid(): Promise<import('systeminformation').Systeminformation.UuidData>;
}
declare module 'systeminformation/lib/system.js' {
  export function system(): Promise<import('systeminformation').Systeminformation.SystemData>;
}
declare module 'systeminformation/lib/util.js' {
  export function powerShellStart(): void;
  export function powerShellRelease(): void;
  export function getCodepage(): string;
  export function getPowershell(): void;
}
