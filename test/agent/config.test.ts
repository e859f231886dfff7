import t, { type Test } from 'tap';
import { ConfigError, loadConfig, type AgentConfig } from '@clockwatch/agent';

const files: Record<string, string> = {};
const readFile = (f: string) => {
  if (!(f in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  return files[f]!;
};
function load(argv: string[], env: Record<string, string> = {}): AgentConfig {
  const r = loadConfig({ argv, env, readFile });
  if (r.kind !== 'config') throw new Error(r.kind);
  return r.config;
}
function fails(t: Test, argv: string[], env: Record<string, string>, option: string, re: RegExp) {
  try {
    loadConfig({ argv, env, readFile });
    t.fail(`${argv.join(' ')} should fail`);
  } catch (err) {
    t.type(err, ConfigError);
    t.equal((err as ConfigError).option, option, `names ${option}`);
    t.match((err as Error).message, re);
    t.notMatch((err as Error).message, /\n/, 'one line');
  }
}

t.test('defaults', async (t) => {
  const c = load([]);
  t.match(c, { collector: 'http://127.0.0.1:7070', token: null, intervalS: 60, root: '/', spoolDir: '/var/lib/clockwatch-agent/spool', id: null, labels: {}, mode: 'loop', listen: null, hwclock: false, samples: 6 });
  t.ok(Object.isFrozen(c));
  t.equal(load([], { STATE_DIRECTORY: '/var/lib/clockwatch-agent' }).spoolDir, '/var/lib/clockwatch-agent/spool', "systemd's StateDirectory=");
});

t.test('precedence: flags > environment > config file > defaults', async (t) => {
  files['/etc/cw.json'] = JSON.stringify({ collector: 'http://file:7070', interval: 30, labels: { site: 'file', rack: '7' }, samples: 4 });
  const env = { CLOCKWATCH_CONFIG: '/etc/cw.json', CLOCKWATCH_INTERVAL: '45', CLOCKWATCH_LABELS: 'site=env' };
  t.match(load([], env), { collector: 'http://file:7070', intervalS: 45, labels: { site: 'env' }, samples: 4, configFile: '/etc/cw.json' });
  t.match(load(['--interval', '50', '--label', 'site=flag', '--label', 'zone=b'], env), { intervalS: 50, labels: { site: 'flag', zone: 'b' } });
  t.match(load(['--config', '/etc/cw.json']), { intervalS: 30, labels: { site: 'file', rack: '7' } });
  t.match(load(['--interval=15']), { intervalS: 15 }, '--opt=value');
});

t.test('tokens: value or file, the higher level decides', async (t) => {
  files['/run/token'] = '  s3cret-token\n';
  t.match(load(['--token-file', '/run/token']), { token: 's3cret-token', tokenFile: '/run/token' });
  t.match(load(['--token', 'flag-token'], { CLOCKWATCH_TOKEN_FILE: '/run/token' }), { token: 'flag-token', tokenFile: null });
  t.match(load([], { CLOCKWATCH_TOKEN: 'env-token' }), { token: 'env-token' });
  fails(t, ['--token', 'a', '--token-file', '/run/token'], {}, '--token', /exclude each other/);
  fails(t, ['--token-file', '/run/missing'], {}, '--token-file', /cannot read \/run\/missing: ENOENT/);
  files['/run/empty'] = '\n';
  fails(t, [], { CLOCKWATCH_TOKEN_FILE: '/run/empty' }, 'CLOCKWATCH_TOKEN_FILE', /is empty/);
});

t.test('modes and the pull endpoint', async (t) => {
  t.equal(load(['--print']).mode, 'print');
  t.equal(load(['--once']).mode, 'once');
  fails(t, ['--once', '--print'], {}, '--print', /exclude each other/);
  t.same(load(['--listen', '127.0.0.1:9107']).listen, { host: '127.0.0.1', port: 9107 });
  t.same(load(['--listen', '[::1]:9107']).listen, { host: '::1', port: 9107 });
  t.same(load(['--chronyc', '127.0.0.1:11323']).chronyc, { host: '127.0.0.1', port: 11323 });
  t.same(loadConfig({ argv: ['--help'], env: {}, readFile }), { kind: 'help' });
  t.match(loadConfig({ argv: ['--version'], env: {}, readFile }), { kind: 'version' });
});

t.test('bad values stop at start with one line naming the option', async (t) => {
  fails(t, ['--interval', 'abc'], {}, '--interval', /expected a number of seconds from 1 to 86400, got "abc"/);
  fails(t, ['--interval', '0'], {}, '--interval', /from 1 to 86400/);
  fails(t, [], { CLOCKWATCH_INTERVAL: 'soon' }, 'CLOCKWATCH_INTERVAL', /got "soon"/);
  fails(t, ['--collector', 'ftp://x'], {}, '--collector', /http:\/\/ or https:\/\//);
  fails(t, ['--collector', 'not a url'], {}, '--collector', /URL/);
  fails(t, ['--label', 'no-equals'], {}, '--label', /expected k=v/);
  fails(t, ['--label', '1bad=x'], {}, '--label', /expected k=v/);
  fails(t, ['--id', 'has space'], {}, '--id', /expected letters/);
  fails(t, ['--listen', '9107'], {}, '--listen', /HOST:PORT/);
  fails(t, ['--samples', '0'], {}, '--samples', /from 1 to 32/);
  fails(t, ['--bogus'], {}, '--bogus', /unknown option/);
  fails(t, ['--root'], {}, '--root', /needs a value/);
  fails(t, ['--log-level', 'loud'], {}, '--log-level', /debug, info, warn or error/);
  files['/etc/bad.json'] = '{"interval": "x"}';
  fails(t, ['--config', '/etc/bad.json'], {}, 'interval (in /etc/bad.json)', /got "x"/);
  files['/etc/typo.json'] = '{"intervall": 5}';
  fails(t, ['--config', '/etc/typo.json'], {}, 'intervall (in /etc/typo.json)', /unknown setting/);
  files['/etc/broken.json'] = '{';
  fails(t, ['--config', '/etc/broken.json'], {}, '--config', /not valid JSON/);
  fails(t, ['--config', '/etc/none.json'], {}, '--config', /cannot read/);
});
