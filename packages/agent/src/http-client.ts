/**
 * undici's Client without the rest of undici: the agent needs one kept-alive HTTP/1.1 connection
 * and `request()`, not fetch, WebSocket, the cache, mocks or the proxy agents. `import('undici')`
 * loads all of them (its index.js requires ~150 modules): measured on Node 20, 70.3 MiB RSS after
 * 20 requests against 62.2 MiB with these three modules (bench/README.md, "Agent memory"). undici
 * stays the HTTP client (its llhttp WebAssembly parser included); only the entry point differs.
 *
 * The paths are undici 7's own layout (it has no "exports" map, so they resolve, and esbuild
 * bundles them); the package-lock pins the version and test/agent/http-client.test.ts fails if the
 * layout changes. This module is imported lazily (agent.ts): --print never loads it.
 */
import ClientClass from 'undici/lib/dispatcher/client.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import request from 'undici/lib/api/api-request.js';
import type { Client as UndiciClient } from 'undici';

// What undici's index.js does with every api-*.js: the methods live on Dispatcher.prototype.
const proto = (Dispatcher as unknown as { prototype: Record<string, unknown> }).prototype;
if (typeof proto.request !== 'function') proto.request = request;

export const Client = ClientClass as unknown as typeof UndiciClient;
