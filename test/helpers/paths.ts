/** Where things are, for every test: the repository, the fixture trees, the built CLIs. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const casesDir = join(repoRoot, 'test', 'fixtures', 'cases');
/** A fixture root filesystem (test/fixtures/roots/<name>: kvm-guest, rtc-localtime, no-rtc, centos6). */
export const fixtureRoot = (name: string) => join(repoRoot, 'test', 'fixtures', 'roots', name);
/** The built CLIs the end-to-end tests run as child processes (CW_FAULT_COLLECTOR_CLI: another build of the collector). */
export const collectorCli = process.env.CW_FAULT_COLLECTOR_CLI ?? join(repoRoot, 'packages', 'collector', 'dist', 'cli.js');
export const agentCli = join(repoRoot, 'packages', 'agent', 'dist', 'cli.js');
