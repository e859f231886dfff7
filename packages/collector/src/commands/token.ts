/**
 * `clockwatch-collector token new [--agent PATTERN]`: a fresh random token (256 bits) and the
 * tokens-file line holding its SHA-256; the collector never sees the token itself until an agent
 * presents it.
 */
import { newToken, parseTokensText } from '../auth.js';
import { ConfigError, parseOptions, type OptionSpec } from '../options.js';
import type { Command } from './types.js';

const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'agent',
    flag: 'agent',
    arg: 'PATTERN',
    help: "bind the token: an agent-id pattern ('web-*') or a label pattern ('site=paris')",
    parse: (t) => {
      if (/\s/.test(t) || t === '') throw new Error(`a pattern has no spaces, got '${t}'`);
      return t;
    },
  },
];

export const tokenCommand: Command = {
  name: 'token',
  summary: 'token new [--agent PATTERN]: make an agent token',
  async run(io) {
    const [sub, ...rest] = io.argv;
    if (sub !== 'new') throw new ConfigError(`usage: clockwatch-collector token new [--agent PATTERN]${sub ? ` (unknown '${sub}')` : ''}`);
    const { values, positionals } = parseOptions(OPTIONS, rest, {});
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}'`);
    const pattern = values.agent as string | undefined;
    const { token, line } = newToken(pattern);
    try {
      parseTokensText(line); // the line we print must load
    } catch (err) {
      throw new ConfigError(`--agent: ${(err as Error).message}`);
    }
    io.out(
      `token (give it to the agent: --token or CLOCKWATCH_TOKEN; it is not stored anywhere):\n  ${token}\n` +
        `line for the collector's --tokens file:\n  ${line}\n`,
    );
    return 0;
  },
};
