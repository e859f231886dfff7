/**
 * The CLI's commands, loaded on demand (a config error or `token new` should not pay for loading
 * fastify, SQLite and the agent's readers). Each command is one module and one row.
 */
import type { Command } from './types.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'serve', summary: 'run the collector: time service, ingest, API, metrics', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'prune', summary: 'delete samples and rollups older than the retention', load: async () => (await import('./prune.js')).pruneCommand },
  { name: 'token', summary: 'token new [--agent PATTERN]: make an agent token', load: async () => (await import('./token.js')).tokenCommand },
  { name: 'export', summary: 'write a compliance export (CSV, JSON, HTML) from the database file', load: async () => (await import('./export.js')).exportCommand },
  { name: 'status', summary: 'the fleet in the terminal (--db or --url): failing checks with reasons', load: async () => (await import('./status.js')).statusCommand },
  { name: 'verify', summary: 'verify MANIFEST [--public-key F]: check an export against its manifest', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'backup', summary: 'backup --out FILE: an online, consistent copy of the database (safe next to serve)', load: async () => (await import('./backup.js')).backupCommand },
];
export type { Command, CommandIO } from './types.js';
