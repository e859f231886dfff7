/**
 * The host's NTP state, read with the agent's own readers (one implementation of the chronyc /
 * timesyncd / ntpq / adjtimex parsing for guests and host alike, not a copy).
 */
import { createCommandRunner, readNtp } from '@clockwatch/agent';
import type { NtpSection } from '@clockwatch/shared';

export function agentNtpReader(options: { root?: string; env: Record<string, string | undefined> }): () => Promise<NtpSection> {
  const run = createCommandRunner();
  const root = options.root ?? '/';
  return () => readNtp({ root, run, env: options.env, nowMs: () => Date.now() });
}
