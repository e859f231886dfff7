/**
 * The real CLI as a child process: configuration precedence and one-line errors, serve (listen,
 * log JSON without the token, stop on SIGTERM, restart on the same file), token new, prune.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { parseTokensText } from '@clockwatch/collector';
import { makeReport } from './helpers.js';
import { runCli as run, runCliAsync as runAsync, serve } from '../helpers/cli.js';

t.test('bad configuration stops start-up with one line naming the option', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"retentionDays": "soon"}', 'unknown.json': '{"colour": "red"}', 'tokens': 'sha256:abc\n', 'policy.json': '{"version": 2}' });
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--retention-days', 'abc'], {}, /^clockwatch-collector serve: --retention-days: expected a positive number, got 'abc'$/],
    [[], { CLOCKWATCH_RETENTION_DAYS: '-3' }, /^clockwatch-collector serve: CLOCKWATCH_RETENTION_DAYS: expected a positive number/],
    [['--config', join(dir, 'bad.json')], {}, /retentionDays in .*bad\.json: expected a positive number, got 'soon'/],
    [['--config', join(dir, 'unknown.json')], {}, /unknown\.json: unknown option 'colour'/],
    [['--listen', 'localhost'], {}, /--listen: expected HOST:PORT/],
    [['--durability', 'paranoid'], {}, /--durability: expected one of normal, full, got 'paranoid'/],
    [['--tokens', join(dir, 'tokens')], {}, /--tokens: .*tokens:1: expected 'sha256:<64 hex digits>'/],
    [['--tokens', join(dir, 'missing')], {}, /--tokens: cannot read .*missing: ENOENT/],
    [['--policy', join(dir, 'policy.json')], {}, /--policy: .*policy\.json: policy invalid at \/version/],
    [['--tls-cert', join(dir, 'tokens')], {}, /--tls-cert: needs --tls-key as well/],
    [['--export-every', 'often'], {}, /--export-every: expected a duration/],
    [['--colour', 'red'], {}, /unknown option --colour/],
    [['--db'], {}, /--db: needs a value/],
  ];
  const results = await Promise.all(cases.map(([args, env]) => runAsync(['serve', '--db', join(dir, 'x.db'), ...args], env)));
  for (const [i, [args, env, re]] of cases.entries()) {
    const r = results[i]!;
    t.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: exit 2`);
    const lines = r.stderr.trim().split('\n');
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], re);
    t.equal(r.stdout, '', 'nothing started');
  }
  t.equal(run(['frobnicate']).code, 2);
  t.match(run(['serve', '--help']).stdout, /--retention-days N/);
});

t.test('token new prints a token and a line the tokens file accepts', async (t) => {
  const r = run(['token', 'new', '--agent', 'web-*']);
  t.equal(r.code, 0);
  const token = /\n {2}(cw_\S+)\n/.exec(r.stdout)?.[1];
  const line = /\n {2}(sha256:[0-9a-f]{64} {2}web-\*)\n/.exec(r.stdout)?.[1];
  t.ok(token && line, r.stdout);
  const entries = parseTokensText(line as string);
  t.same(entries[0]?.binding, { kind: 'agent', pattern: 'web-*' });
  t.not(run(['token', 'new']).stdout, r.stdout, 'random');
  t.equal(run(['token', 'old']).code, 2);
});

t.test('serve: flags beat env beat config file; logs JSON without the token; stops on SIGTERM; restart serves the same history', async (t) => {
  const dir = t.testdir({ 'tokens': '' });
  const token = 'cw_test_token_0123456789';
  const { createHash } = await import('node:crypto');
  writeFileSync(join(dir, 'tokens'), `sha256:${createHash('sha256').update(token).digest('hex')}  vm-*\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ db: join(dir, 'from-config.db'), 'rate-limit': 0, listen: 'nonsense' }));
  const db = join(dir, 'data', 'clockwatch.db');
  // listen comes from the flag (the config's 'nonsense' is never parsed... it is: flags win, so it is not used),
  // db from the environment (beats the config file), rate-limit from the config file.
  const env = { CLOCKWATCH_DB: db, CLOCKWATCH_CONFIG: join(dir, 'config.json') };
  const s = await serve(['--tokens', join(dir, 'tokens')], env).catch((e: Error) => e);
  // 'nonsense' in the config file loses to the --listen flag, but is still a bad value of the file:
  // it is validated only if used. The collector starts.
  if (s instanceof Error) {
    t.fail(s.message);
    return;
  }
  const report = makeReport({ agentId: 'vm-cli', atMs: Date.now() - 10 });
  const post = (auth: string | null) =>
    request(`${s.url}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(report),
    });
  const denied = await post(`Bearer wrong-${token}`);
  t.equal(denied.statusCode, 401);
  await denied.body.text();
  const res = await post(`Bearer ${token}`);
  t.equal(res.statusCode, 200);
  t.equal(((await res.body.json()) as { accepted: number }).accepted, 1);
  const hist1 = (await (await request(`${s.url}/v1/agents/vm-cli/history`)).body.json()) as { points: unknown[] };
  t.equal(hist1.points.length, 1);
  t.equal(await s.stop('SIGTERM'), 0, 'exit 0 on SIGTERM');

  const logs = s.logs();
  const lines = logs.trim().split('\n');
  const notJson = lines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
  t.same(notJson, [], 'every log line is JSON');
  t.equal(s.stderr(), '', 'nothing on stderr');
  t.notOk(logs.includes(token), 'the token never appears in the logs');
  t.match(logs, /"authorization":"\[redacted\]"/, 'the refused request was logged with the header redacted');
  t.match(logs, new RegExp(`"db":"${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`), 'db from CLOCKWATCH_DB');

  const s2 = await serve([], env).catch((e: Error) => e);
  if (s2 instanceof Error) {
    t.fail(s2.message);
    return;
  }
  const hist2 = (await (await request(`${s2.url}/v1/agents/vm-cli/history`)).body.json()) as { points: unknown[] };
  t.same(hist2.points, hist1.points, 'same history after restart');
  const noTokens = s2.logs();
  t.match(noTokens, /accepting reports only from loopback/, 'says it at start without --tokens');
  t.equal(await s2.stop('SIGINT'), 0);
});

t.test('prune', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'p.db');
  const s = await serve(['--db', db]);
  const old = makeReport({ agentId: 'vm-old', atMs: Date.now() - 40 * 86_400_000 });
  const fresh = makeReport({ agentId: 'vm-new', atMs: Date.now() - 1000 });
  for (const r of [old, fresh]) {
    const res = await request(`${s.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r) });
    t.equal(res.statusCode, 200);
    await res.body.text();
  }
  await s.stop();
  const r = run(['prune', '--db', db, '--retention-days', '30']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /pruned .*: 1 samples, 0 clock steps, 0 hourly rollups, 0 agents forgotten/);
  const r2 = run(['prune', '--db', db, '--retention-days', '30', '--rollup-retention-days', '35']);
  t.match(r2.stdout, /0 samples, 0 clock steps, 1 hourly rollups, 0 agents forgotten/, 'vm-old was heard from now (its old report arrived now): not forgotten');
  t.match(run(['prune', '--db', join(dir, 'none.db')]).stderr, /--db: .*none\.db does not exist/);
});

t.test('serve over TLS', async (t) => {
  const dir = t.testdir();
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) {
    t.comment(`skipped: openssl could not make a certificate: ${r.stderr}`);
    return;
  }
  const s = await serve(['--db', join(dir, 'tls.db'), '--tls-cert', cert, '--tls-key', key]);
  t.teardown(() => s.stop());
  t.match(s.url, /^https:/);
  const { readFileSync } = await import('node:fs');
  const { Agent } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: readFileSync(cert) } });
  const res = await request(`${s.url}/healthz`, { dispatcher });
  t.equal(res.statusCode, 200);
  t.equal(((await res.body.json()) as { status: string }).status, 'ok');
  await dispatcher.close();
});
