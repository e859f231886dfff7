// The V8 flags a checkout's agent CLI sets for itself (packages/agent/src/cli.ts LEAN_V8_FLAGS),
// read from its dist so that an A/B run of bench/agent-phases.mjs or bench/agent-alloc.mjs gives
// each checkout's harness child the flags of that checkout's CLI, not those of this one.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function leanV8Flags(repoDir) {
  const src = readFileSync(path.join(repoDir, 'packages/agent/dist/cli.js'), 'utf8');
  const m = /LEAN_V8_FLAGS\s*=\s*\[([^\]]*)\]/.exec(src);
  if (!m) throw new Error(`no LEAN_V8_FLAGS in ${repoDir}/packages/agent/dist/cli.js`);
  return [...m[1].matchAll(/'([^']+)'|"([^"]+)"/g)].map((x) => x[1] ?? x[2]);
}
