/**
 * The CLI's commands, loaded on demand (a config error or `token new` should not pay for loading
 * fastify, SQLite and the agent's readers). export, status and verify (a later issue) plug in as
 * one more row each.
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
];
export type { Command, CommandIO } from './types.js';
