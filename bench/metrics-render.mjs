// The per-agent part of /metrics alone (metrics-agents.ts), over 10,000 synthetic latest-state rows
// (or the count given): CPU of one page with nothing kept, with every agent's lines kept, and with
// the same content in new row objects (as the store gives them), with half or a quarter of the agents changed since the last page; each page as the server sends it (one
// Buffer: AgentMetricsRenderer.renderBuffers, then Buffer.concat). Process CPU (process.cpuUsage), median of 10.
//
//   node bench/metrics-render.mjs [agents]
import { AgentMetricsRenderer } from '../packages/collector/dist/metrics-agents.js';
const N = Number(process.argv[2] ?? 10000);
const rows = Array.from({ length: N }, (_, k) => ({
  id: `vm-${String(k).padStart(5, '0')}`, hostname: `host-${k}.example.net`, status: k % 10 === 0 ? 'noncompliant' : 'compliant',
  lastSeenMs: 1796122740000 + k, atMs: 1796122739000 + k, offsetMs: 0.123456 * k, uncertaintyMs: 0.4123, rtcOffsetS: 0.25, clocksource: 'kvm-clock', timezone: 'Etc/UTC',
  ntpSynchronized: true, systemUuid: `0000${k}-8f4d-4c1a-9e2b-${String(k).padStart(12, '0')}`, labels: { env: 'prod', team: 'infra' }, intervalS: 60,
  checks: { clocksource: 'pass', offset: 'pass', rtc: 'pass', timezone: 'pass', ntp: 'pass', libvirt_clock: 'unknown', reporting: 'pass' },
}));
const r = new AgentMetricsRenderer();
function run(label, f, input = () => rows) {
  for (let i = 0; i < 3; i++) f(input());
  const xs = []; let len = 0;
  for (let i = 0; i < 10; i++) { const page = input(); const c = process.cpuUsage(); const s = Buffer.concat(f(page)); len = s.length; const d = process.cpuUsage(c); xs.push((d.user + d.system) / 1000); }
  xs.sort((a, b) => a - b);
  console.log(`${label} ${N}: CPU median ${xs[5].toFixed(1)} ms min ${xs[0].toFixed(1)} ms, ${(len / 1048576).toFixed(1)} MiB`);
}
run('uncached', (page) => new AgentMetricsRenderer().renderBuffers(page));
run('cached, same rows', (page) => r.renderBuffers(page));
// The store gives new objects every call (its rows with now's status, and a new checks object).
run('cached, same content in new objects', (page) => r.renderBuffers(page), () => rows.map((x) => ({ ...x, checks: { ...x.checks } })));
for (const [label, share] of [['half', 2], ['a quarter of', 4]]) {
  // Each page, another `share`-th of the agents has a new report (its rows are made before the clock starts).
  let t = 0;
  const next = () => (t++, rows.map((x, i) => (i % share === t % share ? { ...x, lastSeenMs: x.lastSeenMs + t, atMs: x.atMs + t, offsetMs: x.offsetMs + t / 7 } : x)));
  run(`cached, ${label} the agents with a new report`, (page) => r.renderBuffers(page), next);
}
