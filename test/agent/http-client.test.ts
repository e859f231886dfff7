/**
 * The agent's HTTP client is undici's Client loaded without the rest of undici (http-client.ts):
 * it must be undici's own class, with dispatch() (http-post.ts), speaking to a real server — and the bundle must
 * not carry undici's fetch, WebSocket or mock code.
 */
import t from 'tap';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client as FullClient } from 'undici';
import { Client } from '../../packages/agent/dist/http-client.js';
import { postJson } from '../../packages/agent/dist/http-post.js';
import { repoRoot } from './helpers/paths.js';

t.test("undici's Client from its own module, with dispatch()", async (t) => {
  t.equal(Client.name, 'Client');
  t.equal(Object.getPrototypeOf(Client.prototype).constructor.name, 'DispatcherBase', 'the same class hierarchy as undici.Client');
  t.equal(typeof Client.prototype.dispatch, 'function');
  t.equal(Client, FullClient, 'the very class the package exports');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, body })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const c = new Client(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  t.teardown(() => c.close());
  const res = await postJson(c, { path: '/x', body: '{"a":1}', headers: { 'content-type': 'application/json' }, timeoutMs: 5000 });
  t.equal(res.statusCode, 200);
  t.same(JSON.parse(res.text), { method: 'POST', body: '{"a":1}' });
});

t.test('the bundle, if built, holds the Client and not the rest of undici', async (t) => {
  const file = path.join(repoRoot, 'packages', 'agent', 'bundle', 'clockwatch-agent.mjs');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    t.comment('no bundle built (npm run bundle): checked by test/agent/bundle.test.ts when it is');
    return;
  }
  t.notMatch(text, /WebSocket is not supported|MockAgent|EventSource/, 'no WebSocket, mock or EventSource code');
});
