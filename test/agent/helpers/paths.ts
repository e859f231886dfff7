import path from 'node:path';

import { agentCli, fixtureRoot, repoRoot } from '../../helpers/paths.js';

export { fixtureRoot, repoRoot };
export const cliPath = agentCli;
export const commandsDir = (name: string) => path.join(repoRoot, 'test/fixtures/commands', name);
export const FIXTURE_ROOTS = ['kvm-guest', 'rtc-localtime', 'no-rtc', 'centos6'] as const;
