#!/usr/bin/env node
/**
 * clockwatch-collector: the only file that touches `process`. Dispatches to a command module;
 * a configuration error is one line on stderr and exit code 2.
 */
import { COMMANDS } from './commands/index.js';
import { ConfigError } from './options.js';
import { COLLECTOR_VERSION } from './version.js';

function usage(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n');
  return `usage: clockwatch-collector <command> [options]\n\n${rows}\n\nclockwatch-collector <command> --help for its options.\n`;
}

async function main(): Promise<number> {
  const [name, ...argv] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(`${COLLECTOR_VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`clockwatch-collector: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const cmd = await entry.load();
    return await cmd.run({
      argv,
      env: process.env,
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
      isTTY: { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
      columns: process.stdout.isTTY === true ? process.stdout.columns : undefined,
      onSignal: (handler) => {
        process.on('SIGINT', () => handler('SIGINT'));
        process.on('SIGTERM', () => handler('SIGTERM'));
        // serve: reload the policy and the tokens files, judge again (the other commands ignore it).
        process.on('SIGHUP', () => handler('SIGHUP'));
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`clockwatch-collector ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`clockwatch-collector ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
