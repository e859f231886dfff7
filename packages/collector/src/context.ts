/**
 * What every route plugin gets: the app's parts, built once by the app factory. Routes take it
 * through their plugin options, never from globals, so several apps can live in one process.
 */
import type { TokenEntry } from './auth.js';
import type { Compliance } from './compliance.js';
import type { ExportManager } from './exports/manager.js';
import type { LibvirtAudit } from './libvirt/audit.js';
import type { HostClock } from './host-clock.js';
import type { Ingestor } from './ingest.js';
import type { CollectorMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import type { Store, StoreHealth } from './store/types.js';
import type { WallClock } from '@clockwatch/shared/node';

export interface AppContext {
  store: Store;
  compliance: Compliance;
  hostClock: HostClock;
  clock: WallClock;
  ingestor: Ingestor;
  metrics: CollectorMetrics;
  rateLimiter: RateLimiter;
  /** null: no --tokens, reports only from loopback. */
  agentTokens: readonly TokenEntry[] | null;
  /** null: no --read-tokens, reads are open. */
  readTokens: readonly TokenEntry[] | null;
  /** null: no --admin-tokens, only loopback clients may run an export. */
  adminTokens: readonly TokenEntry[] | null;
  /** The store's health, logged once when it turns bad (app.ts). */
  storeHealth: () => StoreHealth;
  version: string;
  /** --name (default: the host name): the collector that measured the agents it stores. */
  name: string;
  startedAtMs: number;
  /** --export-dir: the scheduler, on-demand runs and downloads; null when exports are not configured. */
  exports: ExportManager | null;
  /** --libvirt-xml-dir / --libvirt-uri: the domains and their libvirt-clock verdicts; null when not configured. */
  libvirt: LibvirtAudit | null;
}

export interface RouteOptions {
  ctx: AppContext;
}
