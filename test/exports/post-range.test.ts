/**
 * Issue 13, item 9: an export of a chosen period through the API. A real collector (`serve`, on
 * 127.0.0.1:0) over a SQLite file seeded with samples on both sides of the period:
 * - `POST /v1/exports {from, to}` with ISO 8601 and with ms, each writing a signed export of
 *   exactly that period, named by it; the files on disk have the size and SHA-256 the reply lists
 *   and `verify` accepts them; the CSV rows and the detail CSV hold exactly the samples of
 *   [from, to) (the sample at `from` in, the one at `to` out);
 * - every invalid body is a 400 CW_ERR_VALIDATION whose message starts with the field it is about,
 *   and writes nothing; an admin token is required before the body is even read;
 * - no body still exports the last full period; two at once: one runs, the other gets 409;
 *   manual runs count against --export-manual-keep; /docs documents the body.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { instantFromText, newToken, openSqliteStore } from '@clockwatch/collector';
import { checkExportPeriod } from '@clockwatch/collector/exports';
import type { SampleRecord } from '@clockwatch/collector';
import { makeReport, recordOf } from '../collector/helpers.js';
import { cli, startCollector, waitFor } from '../fault/helpers.js';
import { ed25519Files, parseCsv } from '../integration/helpers.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Reply {
  name: string;
  kind: string;
  manifest: string;
  manifestUrl: string;
  period: { fromMs: number; toMs: number; from: string; to: string };
  files: { name: string; bytes: number; sha256: string; url: string }[];
  signature: { algorithm: string; keyId: string } | null;
}

// Two hours of samples a minute apart, ending at least an hour ago; the period is their middle hour,
// not aligned to the hour (a rollup cannot be cut: the rows must still come from the samples).
const baseMs = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
const fromMs = baseMs + 30 * MIN;
const toMs = baseMs + 90 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

/** 'in': every minute 0..119, compliant inside the period (the largest offset exactly at from), far off outside; 'before' and 'after' only outside. */
const SEED: { agentId: string; minutes: number[]; offsetMs: (m: number) => number }[] = [
  { agentId: 'range-in', minutes: Array.from({ length: 120 }, (_, m) => m), offsetMs: (m) => (m < 30 ? 5000 : m >= 90 ? -6000 : m === 30 ? 40 : 2 + (m - 30) * 0.1) },
  { agentId: 'range-before', minutes: Array.from({ length: 21 }, (_, m) => m), offsetMs: () => 3 },
  { agentId: 'range-after', minutes: Array.from({ length: 25 }, (_, m) => 95 + m), offsetMs: () => 3 },
];
const atOf = (m: number) => baseMs + m * MIN;
const inPeriod = SEED.flatMap((a) => a.minutes.filter((m) => atOf(m) >= fromMs && atOf(m) < toMs).map((m) => `${a.agentId}-${m}`)).sort();

t.test('POST /v1/exports {from, to}: validated, admin only, a signed export of exactly that period', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const exportsDir = join(dir, 'exports');
  const manualDir = join(exportsDir, 'manual');
  const keys = ed25519Files(dir);
  const admin = newToken();
  writeFileSync(join(dir, 'admin-tokens'), `${admin.line}\n`);

  const store = openSqliteStore({ path: db });
  const records: SampleRecord[] = [];
  for (const a of SEED) {
    for (const m of a.minutes) {
      records.push(recordOf(makeReport({ agentId: a.agentId, hostname: `${a.agentId}.example`, atMs: atOf(m), offsetMs: a.offsetMs(m), intervalS: 60, reportId: `${a.agentId}-${m}`, seq: m }), atOf(m) + 50));
    }
  }
  await store.write(records);
  await store.close();
  t.equal(inPeriod.length, 60, 'the seed has 60 samples in [from, to)');

  const c = await startCollector(t, {
    db,
    args: ['--export-dir', exportsDir, '--export-manual-keep', '2', '--export-key', keys.privateKey, '--admin-tokens', join(dir, 'admin-tokens')],
  });
  // The schedule exports the last full day at start; a manual run waits for no one after it.
  await waitFor('the scheduled export at start', async () => {
    const l = (await (await fetch(`${c.url}/v1/exports`)).json()) as { running: boolean; exports: { kind: string }[] };
    return !l.running && l.exports.some((e) => e.kind === 'scheduled');
  });

  const post = (body: unknown, token: string | null = admin.token) =>
    fetch(`${c.url}/v1/exports`, {
      method: 'POST',
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const manualManifests = () => {
    try {
      return readdirSync(manualDir).filter((n) => n.endsWith('.manifest.json')).sort();
    } catch {
      return [];
    }
  };

  await t.test('no admin token: refused before the body is read', async (t) => {
    for (const [token, code] of [[null, 'CW_ERR_TOKEN_MISSING'], [newToken().token, 'CW_ERR_TOKEN_INVALID']] as const) {
      for (const body of [{ from: iso(fromMs), to: iso(toMs) }, { from: 'yesterday' }]) {
        const r = await post(body, token);
        t.equal(r.status, 401, `${token ? 'unknown' : 'no'} token, ${JSON.stringify(body)}`);
        t.equal(((await r.json()) as { code: string }).code, code);
      }
    }
    t.same(manualManifests(), [], 'nothing written');
  });

  await t.test('each invalid body: 400 CW_ERR_VALIDATION, the message starts with its field, nothing written', async (t) => {
    const now = Date.now();
    const cases: [unknown, string, RegExp][] = [
      [{ from: 'yesterday', to: iso(toMs) }, 'from', /expected ms since the epoch or an ISO 8601/],
      [{ from: iso(fromMs), to: '2026-02-30' }, 'to', /has no day 30/],
      [{ from: '2026-11-30T00:00:00', to: iso(toMs) }, 'from', /has no offset/],
      [{ from: iso(fromMs), to: true }, 'to', /got a boolean/],
      [{ from: null, to: toMs }, 'from', /got null/],
      [{ from: 1e20, to: toMs }, 'from', /outside/],
      [{ from: iso(fromMs) }, 'to', /missing/],
      [{ to: toMs }, 'from', /missing/],
      [{ from: toMs, to: fromMs }, 'to', /is not after from/],
      [{ from: fromMs, to: fromMs }, 'to', /is not after from/],
      [{ from: fromMs, to: now + DAY }, 'to', /in the future/],
      [{ from: now - 367 * DAY, to: now - HOUR }, 'from', /at most 366 days/],
      [{ from: fromMs, to: toMs, format: 'xml' }, 'format', /unknown field/],
      [{ from: fromMs, fromMs, to: toMs }, 'fromMs', /not both/],
      [{ fromMs: String(fromMs), toMs }, 'fromMs', /expected a number/],
      [{ from: fromMs, to: toMs, detail: 'yes' }, 'detail', /expected true or false/],
      [[fromMs, toMs], 'body', /expected a JSON object/],
      ['"2026-11-30"', 'body', /expected a JSON object/],
    ];
    for (const [body, field, why] of cases) {
      const r = await post(body);
      const e = (await r.json()) as { code: string; message: string };
      t.equal(r.status, 400, JSON.stringify(body));
      t.equal(e.code, 'CW_ERR_VALIDATION', JSON.stringify(body));
      t.ok(e.message.startsWith(`${field}: `), `names ${field}: ${e.message}`);
      t.match(e.message, why);
      t.notMatch(e.message, /must be null/);
    }
    t.same(manualManifests(), [], 'no refused body wrote anything');
  });

  const checkExport = async (t: Test, r: Reply) => {
    t.equal(r.kind, 'manual');
    t.same(r.period, { fromMs, toMs, from: iso(fromMs), to: iso(toMs) }, 'exactly the period asked for');
    const compact = (ms: number) => iso(ms).replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    t.ok(r.name.startsWith(`clockwatch-${compact(fromMs)}-${compact(toMs)}-manual-`), `named by its period: ${r.name}`);
    t.equal(r.signature?.algorithm, 'ed25519', 'signed');
    t.ok(manualManifests().includes(r.manifest), 'its manifest is in <export-dir>/manual');
    const onDisk = JSON.parse(readFileSync(join(manualDir, r.manifest), 'utf8')) as { files: { name: string; bytes: number; sha256: string }[] };
    t.same(onDisk.files, r.files.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })), 'the reply lists what the manifest lists');
    for (const f of r.files) {
      const bytes = readFileSync(join(manualDir, f.name));
      t.equal(statSync(join(manualDir, f.name)).size, f.bytes, `${f.name}: size`);
      t.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, `${f.name}: SHA-256`);
      const dl = await fetch(`${c.url}${f.url}`);
      t.equal(dl.status, 200, f.url);
      t.ok(Buffer.from(await dl.arrayBuffer()).equals(bytes), `${f.url} serves the same bytes`);
    }
    const v = await cli(['verify', join(manualDir, r.manifest), '--public-key', keys.publicKey]);
    t.equal(v.code, 0, `verify: ${v.stdout.trim()} ${v.stderr.trim()}`);

    const csvFile = r.files.find((f) => /\d{6}Z\.csv$/.test(f.name) && !f.name.endsWith('-detail.csv'));
    const csv = parseCsv(readFileSync(join(manualDir, csvFile?.name ?? 'missing'), 'utf8'));
    const head = csv[0] as string[];
    const rows = new Map(csv.slice(1).filter((x) => x.length > 1).map((x) => [x[head.indexOf('agent_id')], Object.fromEntries(head.map((h, i) => [h, x[i] as string]))]));
    t.same([...rows.keys()].sort(), ['range-before', 'range-in'], 'agents known by the end of the period; not the one first seen after it');
    const row = rows.get('range-in') as Record<string, string>;
    t.equal(row.period_start_utc, iso(fromMs));
    t.equal(row.period_end_utc, iso(toMs));
    t.ok(Math.abs(Number(row.worst_offset_ms) - 40) < 0.01, `worst offset is the sample at from (inclusive), not the ones outside: ${row.worst_offset_ms}`);
    t.equal(Number(row.compliant_share), 1, 'only the compliant samples of the period count (the ones outside are not compliant)');
    t.ok(Math.abs(Number(row.offset_ms) - (2 + 59 * 0.1)) < 0.01, `the latest offset is the last sample before to (exclusive): ${row.offset_ms}`);
    t.equal(row.status, 'compliant', 'the status at the end of the period, not now');
    const before = rows.get('range-before') as Record<string, string>;
    t.equal(before.offset_ms, '', 'no sample in the period: no offset');
    t.equal(before.compliant_share, '', 'and no share');
  };

  let isoReply: Reply;
  await t.test('an ISO 8601 range with the detail CSV', async (t) => {
    const r = await post({ from: iso(fromMs), to: iso(toMs), detail: true });
    isoReply = (await r.json()) as Reply;
    t.equal(r.status, 200, JSON.stringify(isoReply));
    t.same(isoReply.files.map((f) => f.name.replace(/^.*?(-detail)?\.(\w+)$/, '$2$1')), ['csv', 'json', 'html', 'csv-detail']);
    await checkExport(t, isoReply);
    const detail = isoReply.files.find((f) => f.name.endsWith('-detail.csv'));
    const lines = parseCsv(readFileSync(join(manualDir, detail?.name ?? 'missing'), 'utf8')).filter((x) => x.length > 1);
    const head = lines[0] as string[];
    const ids = lines.slice(1).map((x) => x[head.indexOf('report_id')] as string).sort();
    t.same(ids, inPeriod, 'the detail CSV holds exactly the samples of [from, to)');
    t.ok(lines.slice(1).every((x) => Number(x[head.indexOf('at_ms')]) >= fromMs && Number(x[head.indexOf('at_ms')]) < toMs), 'each measured in [from, to)');
  });

  await t.test('a ms range, listed by GET /v1/exports as the reply says', async (t) => {
    const r = await post({ from: fromMs, to: toMs });
    const body = (await r.json()) as Reply;
    t.equal(r.status, 200, JSON.stringify(body));
    t.same(body.files.map((f) => f.name.replace(/^.*\./, '')), ['csv', 'json', 'html'], 'no detail unless asked');
    t.not(body.name, isoReply.name, 'a run of its own');
    await checkExport(t, body);
    const list = (await (await fetch(`${c.url}/v1/exports`)).json()) as { exports: Reply[] };
    t.same(list.exports.find((e) => e.name === body.name), body, 'the listing says what the reply said');
  });

  await t.test('two at once: one runs, the other gets 409; no body: the last full day; --export-manual-keep', async (t) => {
    const both = await Promise.all([post({ from: iso(fromMs), to: iso(toMs), detail: true }), post({ fromMs, toMs, detail: true })]);
    const bodies = (await Promise.all(both.map((r) => r.json()))) as { code?: string }[];
    t.same(both.map((r) => r.status).sort(), [200, 409]);
    t.equal(bodies[both.findIndex((r) => r.status === 409)]?.code, 'CW_ERR_EXPORT_IN_PROGRESS');

    const dflt = await post(undefined);
    const d = (await dflt.json()) as Reply;
    t.equal(dflt.status, 200, JSON.stringify(d));
    t.equal(d.period.toMs % DAY, 0, 'no body: the last full UTC day (--export-every 24h)');
    t.equal(d.period.toMs - d.period.fromMs, DAY);
    t.ok(d.period.toMs <= Date.now() && Date.now() - d.period.toMs < DAY);
    t.equal((await post({})).status, 200, '{} is no body too');
    t.equal(manualManifests().length, 2, 'five manual runs, two kept (--export-manual-keep 2)');
    t.ok(readdirSync(exportsDir).some((n) => n.endsWith('.manifest.json')), 'the scheduled export is not pushed out');
  });

  await t.test('GET /docs documents the body', async (t) => {
    const doc = (await (await fetch(`${c.url}/docs`)).json()) as { paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: unknown }> } } }> };
    const schema = JSON.stringify(doc.paths['/v1/exports']?.post?.requestBody?.content['application/json']?.schema ?? null);
    for (const field of ['from', 'to', 'fromMs', 'toMs', 'detail']) t.match(schema, new RegExp(`"${field}":\\{`), `${field} is documented`);
    t.match(schema, /at most 366 days/);
  });

  await c.kill('SIGTERM');
});

t.test('one reading of instants and periods for the API and the export command', async (t) => {
  const ok: [string, number][] = [
    ['2026-11-30', Date.UTC(2026, 10, 30)],
    ['2026-11-30T00:00:00Z', Date.UTC(2026, 10, 30)],
    ['2026-11-30T01:00:00+01:00', Date.UTC(2026, 10, 30)],
    ['2026-11-29T19:00-0500', Date.UTC(2026, 10, 30)],
    ['2026-11-30 00:00:00.250z', Date.UTC(2026, 10, 30) + 250],
    ['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
    ['1796083200000', 1796083200000],
    [' 1796083200000.5 ', 1796083200000.5],
  ];
  for (const [text, ms] of ok) t.equal(instantFromText(text, 'from'), ms, text);
  for (const [text, why] of [
    ['2025-02-29', /has no day 29/],
    ['2026-13-01', /month 13/],
    ['2026-11-30T24:00:00Z', /no such time/],
    ['2026-11-30T12:00:00+25:00', /offset/],
    ['2026-11-30T12:00:00', /no offset/],
    ['Mon, 30 Nov 2026 00:00:00 GMT', /expected ms since the epoch/],
    ['', /expected/],
  ] as const) {
    t.throws(() => instantFromText(text, 'from'), { field: 'from', message: why }, JSON.stringify(text));
  }
  const now = Date.UTC(2026, 11, 1);
  t.throws(() => checkExportPeriod({ fromMs: now - 366 * DAY - 1, toMs: now }, now), { field: 'from', message: /at most 366 days/ });
  t.same(checkExportPeriod({ fromMs: now - 366 * DAY, toMs: now }, now), { fromMs: now - 366 * DAY, toMs: now }, '366 days exactly is allowed');
  t.same(checkExportPeriod({ fromMs: now - 1, toMs: now }, now), { fromMs: now - 1, toMs: now }, 'to may be now');
  t.throws(() => checkExportPeriod({ fromMs: now - 1, toMs: now + 1 }, now), { field: 'to', message: /in the future/ });

  // The export command reads its options with the same functions.
  const db = join(t.testdir(), 'c.db');
  await openSqliteStore({ path: db }).close();
  const bad = await cli(['export', '--db', db, '--from', '2026-02-30']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--from: '2026-02-30': 2026-02 has no day 30/);
  const backwards = await cli(['export', '--db', db, '--from', '2026-11-30T00:00:00Z', '--to', '2026-11-29']);
  t.equal(backwards.code, 2);
  t.match(backwards.stderr, /--to: 2026-11-29T00:00:00\.000Z is not after --from 2026-11-30T00:00:00\.000Z/);
});
