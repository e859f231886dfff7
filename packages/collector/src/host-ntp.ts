/**
 * The host's NTP state, read with the same readers the agent uses (one implementation of the
 * chronyc / timesyncd / ntpq / adjtimex parsing for guests and host alike, in @clockwatch/shared/node).
 */
import { createCommandRunner, readNtp } from '@clockwatch/shared/node';
import type { NtpSection } from '@clockwatch/shared';

export function agentNtpReader(options: { root?: string; env: Record<string, string | undefined> }): () => Promise<NtpSection> {
  const run = createCommandRunner();
  const root = options.root ?? '/';
  return () => readNtp({ root, run, env: options.env, nowMs: () => Date.now() });
}
