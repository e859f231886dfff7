/** `clockwatch-collector prune`: apply retention to a database now (safe next to a running serve: WAL, short transactions). */
import { DEFAULT_DB } from '../config.js';
import { ConfigError, helpText, nonEmpty, parseOptions, positiveNumber, type OptionSpec } from '../options.js';
import { pruneOnce } from '../retention.js';
import { isPostgresUrl } from '../store/db-url.js';
import { openStore } from '../store/open.js';
import type { Command } from './types.js';

const OPTIONS: readonly OptionSpec[] = [
  { key: 'db', flag: 'db', arg: 'PATH', help: 'SQLite database file', default: DEFAULT_DB, parse: nonEmpty },
  { key: 'retentionDays', flag: 'retention-days', arg: 'N', help: 'days raw samples are kept', default: 30, parse: positiveNumber },
  { key: 'rollupRetentionDays', flag: 'rollup-retention-days', arg: 'N', help: 'days hourly rollups are kept', default: 400, parse: positiveNumber },
  { key: 'config', flag: 'config', arg: 'FILE', help: 'JSON file with any of these options', parse: nonEmpty },
];

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'delete samples and rollups older than the retention',
  async run(io) {
    if (io.argv.includes('--help')) {
      io.out(helpText('usage: clockwatch-collector prune [--db PATH] [--retention-days N]', OPTIONS));
      return 0;
    }
    const { values: v, sources, positionals } = parseOptions(OPTIONS, io.argv, io.env, 'config');
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}'`);
    const db = v.db as string;
    const { existsSync } = await import('node:fs');
    if (!isPostgresUrl(db) && !existsSync(db)) throw new ConfigError(`${sources.db}: ${db} does not exist`);
    if ((v.rollupRetentionDays as number) < (v.retentionDays as number)) {
      throw new ConfigError(`${sources.rollupRetentionDays}: rollups must be kept at least as long as samples`);
    }
    const store = await openStore({ db, where: sources.db ?? '--db' });
    try {
      const started = performance.now();
      const r = await pruneOnce(store, { retentionDays: v.retentionDays as number, rollupRetentionDays: v.rollupRetentionDays as number }, Date.now());
      io.out(
        `pruned ${db}: ${r.samples} samples, ${r.steps} clock steps, ${r.rollups} hourly rollups, ${r.agents} agents forgotten ` +
          `(${Math.round(performance.now() - started)} ms)\n`,
      );
    } finally {
      await store.close();
    }
    return 0;
  },
};
