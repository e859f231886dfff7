/**
 * Each report's text taken from the request body (raw-json.ts): what the ingest path hashes and
 * stores. It must equal the serialisation of the parsed report for an agent's body, whatever the
 * whitespace, and a resend must be a duplicate however it is wrapped.
 */
import t from 'tap';
import { reportTexts } from '../../packages/collector/src/raw-json.js';
import { appWith, makeReport } from './helpers.js';

t.test('texts of the reports of a body', async (t) => {
  const a = makeReport({ atMs: 1_795_600_000_000 });
  const b = { ...makeReport({ atMs: 1_795_600_060_000 }), agent: { ...a.agent, hostname: 'a, "tricky" [host] {name} \\ \n end' } };
  const one = JSON.stringify(a);
  t.same(reportTexts(one, 1), [one], 'one object');
  t.same(reportTexts(JSON.stringify([a, b]), 2), [JSON.stringify(a), JSON.stringify(b)], 'an array: separators, quotes, brackets and escapes inside strings kept');
  t.same(reportTexts(JSON.stringify([a, b], null, 2), 2), [JSON.stringify(a), JSON.stringify(b)], 'pretty-printed: the same texts');
  t.same(reportTexts(`  \n[ ${one} ,\t${one} ]\r\n`, 2), [one, one], 'whitespace around elements');
  t.same(reportTexts('{"s": "two  spaces\\" , [x]"}', 1), ['{"s":"two  spaces\\" , [x]"}'], 'whitespace inside strings kept');
  t.equal(reportTexts(JSON.stringify([a, b]), 3), null, 'a count that does not match: null');
  t.equal(reportTexts('"a string"', 1), null, 'not an object or array: null');
  t.same(reportTexts('[]', 0), [], 'empty array');
});

t.test('a resend is a duplicate however it is wrapped or indented; other content is a conflict', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  const r = makeReport({ atMs: Date.now() - 1000 });
  const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/reports', payload, headers: { 'content-type': 'application/json' } });
  const first = (await post(JSON.stringify(r))).json();
  t.equal(first.results[0].stored, true, 'stored');
  for (const [what, body] of [
    ['as an array', JSON.stringify([r])],
    ['pretty-printed', JSON.stringify(r, null, 2)],
    ['in an array, pretty-printed', JSON.stringify([r], null, 4)],
  ] as const) {
    const res = (await post(body)).json();
    const got = res.results?.[0] ?? res;
    t.equal(got.duplicate, true, `${what}: duplicate`);
  }
  const changed = { ...r, seq: r.seq + 1000 };
  const c = await post(JSON.stringify(changed));
  t.equal(c.statusCode, 409, 'same reportId, other content: conflict');
  t.equal(c.json().code, 'CW_ERR_REPORT_CONFLICT');
  // The stored latest report is the one that came in, parsed back.
  const agent = (await app.inject({ method: 'GET', url: `/v1/agents/${r.agent.id}` })).json();
  t.same(agent.report, r, 'the stored document is the report');
});
