import t from 'tap';
import { createCommandRunner, createReplayRunner, recordingName } from '@clockwatch/agent';
import { commandsDir } from './helpers/paths.js';

t.test('the real runner: C locale, UTC, nothing of the agent environment', async (t) => {
  process.env.CLOCKWATCH_TOKEN = 'secret-token';
  t.teardown(() => {
    delete process.env.CLOCKWATCH_TOKEN;
  });
  const spawned: string[] = [];
  const run = createCommandRunner({ onSpawn: (c, a) => spawned.push([c, ...a].join(' ')) });
  const r = await run('sh', ['-c', 'echo "$LC_ALL $LANG $TZ ${CLOCKWATCH_TOKEN:-unset}"; date +%Z']);
  t.same(r, { code: 0, stdout: 'C C UTC unset\nUTC\n', stderr: '' });
  t.same(spawned, ['sh -c echo "$LC_ALL $LANG $TZ ${CLOCKWATCH_TOKEN:-unset}"; date +%Z']);
});

t.test('the real runner never throws', async (t) => {
  const run = createCommandRunner();
  t.same(await run('clockwatch-no-such-binary', ['x']), { code: null, stdout: '', stderr: '', error: 'ENOENT' });
  t.match(await run('sh', ['-c', 'echo oops >&2; exit 3']), { code: 3, stderr: 'oops\n' });
  const start = Date.now();
  const slow = await run('sleep', ['10'], { timeoutMs: 200 });
  t.match(slow, { code: null, error: 'TIMEOUT' });
  t.ok(Date.now() - start < 9000, 'killed at the timeout, not waited for (sleep 10 would still run)');
  const big = await createCommandRunner({ maxBufferBytes: 1000 })('sh', ['-c', 'head -c 5000 /dev/zero']);
  t.match(big, { code: null, error: 'MAXBUFFER' });
});

t.test('the replay runner', async (t) => {
  t.equal(recordingName('chronyc', ['-c', '-m', 'tracking', 'sources']), 'chronyc_-c_-m_tracking_sources');
  t.equal(recordingName('ntpq', ['-n', '-c', 'rv']), 'ntpq_-n_-c_rv');
  const run = createReplayRunner(commandsDir('chrony-down'));
  t.same(await run('chronyc', ['-c', '-m', 'tracking', 'sources']), { code: 1, stdout: '506 Cannot talk to daemon\n', stderr: '' });
  t.same(await run('ntpq', ['-n', '-c', 'rv']), { code: null, stdout: '', stderr: '', error: 'ENOENT' });
});
