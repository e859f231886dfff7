/**
 * Opens the store `--db` names: a `postgresql://…` URL selects the PostgreSQL store (many
 * collectors, one fleet), anything else is a SQLite file (the embedded default). Failures become
 * one ConfigError line naming the option, so a collector that cannot reach its store stops at
 * start with a non-zero exit.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from '../options.js';
import { isPostgresUrl, redactDbUrl } from './db-url.js';
import { openSqliteStore, type Durability } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  db: string;
  /** Where the value came from, for the error line ('--db', 'CLOCKWATCH_DB', ...). */
  where: string;
  readonly?: boolean;
  durability?: Durability;
  /** SQLite: copy the WAL on a worker thread (serve). */
  backgroundCheckpoint?: boolean;
  /** PostgreSQL: this collector's name, shown as the collector that measured each agent. */
  collector?: string;
}

export async function openStore(o: OpenStoreOptions): Promise<Store> {
  if (isPostgresUrl(o.db)) {
    try {
      // Loaded only for a PostgreSQL URL: the client costs ~50 ms at start, which SQLite does not need.
      const { openPostgresStore } = await import('./postgres.js');
      return await openPostgresStore({ url: o.db, collector: o.collector ?? hostname() });
    } catch (err) {
      throw new ConfigError(`${o.where}: cannot open ${redactDbUrl(o.db)}: ${(err as Error).message}`);
    }
  }
  if (o.readonly && !existsSync(o.db)) throw new ConfigError(`${o.where}: ${o.db} does not exist`);
  try {
    return openSqliteStore({
      path: o.db,
      ...(o.readonly ? { readonly: true } : {}),
      ...(o.durability ? { durability: o.durability } : {}),
      ...(o.backgroundCheckpoint ? { backgroundCheckpoint: true } : {}),
    });
  } catch (err) {
    throw new ConfigError(`${o.where}: cannot open ${o.db}: ${(err as Error).message}`);
  }
}
