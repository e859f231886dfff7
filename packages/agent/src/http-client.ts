/**
 * undici's Client without the rest of undici: the agent needs one kept-alive HTTP/1.1 connection
 * and `dispatch()` (http-post.ts), not fetch, WebSocket, the cache, mocks, the proxy agents — nor
 * `request()`, whose stream-wrapped answers cost more CPU than the agent's small JSON answers are
 * worth (http-post.ts). `import('undici')` loads all of them (its index.js requires ~150 modules):
 * measured on Node 20, 70.3 MiB RSS after 20 requests against 62.2 MiB with the Client alone
 * (bench/README.md, "Agent memory"). undici stays the HTTP client (its llhttp WebAssembly parser
 * included); only the entry point differs.
 *
 * The path is undici 7's own layout (it has no "exports" map, so it resolves, and esbuild bundles
 * it); the package-lock pins the version and test/agent/http-client.test.ts fails if the layout
 * changes. This module is imported lazily (agent.ts): --print never loads it.
 */
import ClientClass from 'undici/lib/dispatcher/client.js';
import type { Client as UndiciClient } from 'undici';

export const Client = ClientClass as unknown as typeof UndiciClient;
