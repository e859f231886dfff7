// The host audit's own cost (--host-audit rtc,guest-agent): one pass over 1 domain and over N
// domains (default 1,000) through a CommandRunner that answers instantly with the outputs recorded
// from libvirtd 9.0 / QEMU 7.2 / qemu-ga (test/fixtures/commands/host-audit/three-domains.json, the
// guest-agent domain, UUIDs rewritten), then judgeAgentless for every domain. The real cost of a
// pass is virsh's: `latencyMs` (default 0) adds that per command, to size a pass at the fleet's
// scale (4 domains at once; 4 commands per domain with a guest agent, 2 without). Prints one JSON
// line; on a shared machine the timings are indicative only.
//
//   node bench/host-audit.mjs '{"domains":1000,"latencyMs":0}'
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY, judgeAgentless, parseDomainXml, resolvePolicy } from '@clockwatch/shared';
import { HostAudit } from '../packages/collector/dist/libvirt/index.js';

const o = { domains: 1000, latencyMs: 0, repeat: 3, ...JSON.parse(process.argv[2] ?? '{}') };
const rec = JSON.parse(readFileSync(new URL('../test/fixtures/commands/host-audit/three-domains.json', import.meta.url), 'utf8'));
const GA = 'bf22a9d2-7c09-4559-923a-424b7df9b3a4';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const verb = (args) => args.slice(2).filter((a) => !UUID_RE.test(a)).join(' ');
const byVerb = new Map(rec.filter((r) => r.args.includes(GA)).map((r) => [verb(r.args), r]));
const clock = { now: rec[0].beforeMs };
const runner = async (_cmd, args) => {
  const r = byVerb.get(verb(args));
  if (o.latencyMs > 0) await new Promise((res) => setTimeout(res, o.latencyMs));
  clock.now += 40;
  return r ? { code: r.code, stdout: r.stdout, stderr: r.stderr } : { code: 1, stdout: '', stderr: 'error: unknown\n' };
};
const uuid = (k) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
const domains = (n) => Array.from({ length: n }, (_, k) => ({ uuid: uuid(k), live: true }));
const xml = rec.find((r) => r.args[2] === 'dumpxml' && r.args[3] === GA).stdout;
const domain = parseDomainXml(xml).domain;

async function pass(n) {
  const ha = new HostAudit({ uri: 'qemu:///system', runner, parts: ['rtc', 'guest-agent'], nowMs: () => clock.now });
  const ds = domains(n);
  let best = Infinity;
  for (let i = 0; i < o.repeat; i++) {
    const t0 = performance.now();
    await ha.pass(ds);
    best = Math.min(best, performance.now() - t0);
  }
  return { ha, best };
}
const one = await pass(1);
const many = await pass(o.domains);
const policy = resolvePolicy(DEFAULT_POLICY, { agentId: 'domain:x', hostname: 'cw-ga', platform: 'linux', labels: {} });
const t0 = performance.now();
for (let k = 0; k < o.domains; k++) judgeAgentless({ domain: { domain, source: 's', readAtMs: 0 }, hostAudit: many.ha.evidenceFor(uuid(k)), policy, nowMs: clock.now });
const judgeMs = performance.now() - t0;
const sample = many.ha.evidenceFor(uuid(0));
if (!('rtcOffsetS' in sample.rtc) || !('offsetMs' in sample.guestTime) || !('offsetS' in sample.zone)) throw new Error(`the replay did not answer: ${JSON.stringify(sample)}`);
console.log(JSON.stringify({
  bench: 'host-audit',
  domains: o.domains,
  latencyMs: o.latencyMs,
  onePassOneDomainMs: +one.best.toFixed(3),
  onePassManyDomainsMs: +many.best.toFixed(1),
  perDomainMs: +(many.best / o.domains).toFixed(4),
  perDomainRatioVsSingle: +((many.best / o.domains) / one.best).toFixed(3),
  judgeAgentlessAllMs: +judgeMs.toFixed(1),
  judgePerDomainMs: +(judgeMs / o.domains).toFixed(4),
  note: 'contended shared machine; runner answers instantly unless latencyMs',
}));
