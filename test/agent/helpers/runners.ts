import type { CommandResult, CommandRunner } from '@clockwatch/shared';
import { createReplayRunner } from '@clockwatch/agent';
import { commandsDir } from './paths.js';

export interface CountingRunner {
  run: CommandRunner;
  calls: string[];
}

/** Replays a recorded case and records every command line asked for. */
export function replay(caseName: string): CountingRunner {
  const calls: string[] = [];
  return { run: createReplayRunner(commandsDir(caseName), (cmd, args) => calls.push([cmd, ...args].join(' '))), calls };
}

/** A runner that answers from a table (for outputs no real system gave us) and records calls. */
export function scripted(table: Record<string, CommandResult>): CountingRunner {
  const calls: string[] = [];
  return {
    calls,
    run: async (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      return table[line] ?? { code: null, stdout: '', stderr: '', error: 'ENOENT' };
    },
  };
}

/** A runner that must never be used. */
export function forbidden(): CountingRunner {
  const calls: string[] = [];
  return {
    calls,
    run: async (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return { code: null, stdout: '', stderr: '', error: 'FORBIDDEN' };
    },
  };
}
