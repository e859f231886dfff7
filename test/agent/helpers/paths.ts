import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const cliPath = path.join(repoRoot, 'packages/agent/dist/cli.js');
export const fixtureRoot = (name: string) => path.join(repoRoot, 'test/fixtures/roots', name);
export const commandsDir = (name: string) => path.join(repoRoot, 'test/fixtures/commands', name);
export const FIXTURE_ROOTS = ['kvm-guest', 'rtc-localtime', 'no-rtc', 'centos6'] as const;
