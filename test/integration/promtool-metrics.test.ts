/**
 * `/metrics` of a live collector, after real reports from agents in different states, is clean
 * under `promtool check metrics` (exit 0, no lint message), and says what an alert needs: each
 * check's state apart (pass / warn / fail / unknown), offset with its uncertainty, the hostname
 * through the info join, the agent's own labels, and no prom-client `_total` gauge.
 */
import t from 'tap';
import { parsePrometheus } from '../collector/helpers.js';
import { LIVE_AGENTS, liveFleet, promtool, promtoolSkip } from './live-fleet.js';

t.test('promtool check metrics on a live /metrics', { skip: promtoolSkip }, async (t) => {
  const fleet = await liveFleet(t.testdir());
  t.teardown(() => fleet.served.stop());
  // The host's own NTP state decides whether a good guest is compliant or warning (reference
  // unreliable), so the test asks for the states it needs rather than for each agent's.
  const states = new Set(Object.values(fleet.statuses));
  for (const s of ['warning', 'unknown', 'noncompliant']) t.ok(states.has(s), `some agent is ${s}: ${JSON.stringify(fleet.statuses)}`);
  const text = await fleet.metrics();

  const lint = promtool(['check', 'metrics'], text);
  t.equal(lint.code, 0, `promtool check metrics exit code\n${lint.stdout}${lint.stderr}`);
  t.equal(lint.stdout.trim(), '', 'no lint message on stdout');
  t.equal(lint.stderr.trim(), '', 'no lint message on stderr');

  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    t.notMatch(text, new RegExp(`^${name}`, 'm'), `${name} (a gauge named _total) is not exposed`);
  }
  t.match(text, /^nodejs_active_handles\{type="/m, 'the per-type sibling stays (sum() gives the total)');
  t.match(text, /^process_cpu_seconds_total /m, 'the other default metrics stay');

  const samples = parsePrometheus(text);
  const get = (name: string, labels: Record<string, string>) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  const checkStatus = (agent: string, check: string) => get('clockwatch_agent_check_status', { agent, check }).map((s) => `${s.labels.status}=${s.value}`);

  // One series per (agent, check), the state in the label: warn, fail and unknown stay apart.
  t.same(checkStatus('live-ok', 'clocksource'), ['pass=1']);
  t.same(checkStatus('live-tsc', 'clocksource'), ['fail=1']);
  t.same(checkStatus('live-noisy', 'offset'), ['unknown=1']);
  t.same(checkStatus('live-conflict', 'rtc'), ['warn=1']);
  t.same(checkStatus('live-rtc', 'rtc'), ['fail=1']);
  t.same(checkStatus('live-ntp', 'ntp'), ['fail=1']);
  t.same(checkStatus('live-tz', 'timezone'), ['warn=1']);
  for (const a of LIVE_AGENTS) {
    t.same(get('clockwatch_agent_status', { agent: a.id }).map((s) => `${s.labels.status}=${s.value}`), [`${fleet.statuses[a.id]}=1`], `${a.id}: one status series, the verdict's`);
    const checks = get('clockwatch_agent_check_status', { agent: a.id });
    t.equal(new Set(checks.map((s) => s.labels.check)).size, checks.length, `${a.id}: one series per check`);
    t.same(get('clockwatch_agent_info', { agent: a.id }).map((s) => s.labels.hostname), [a.hostname], `${a.id}: hostname on the info series`);
  }
  t.same(get('clockwatch_agent_labels', { agent: 'live-tsc' }).map((s) => s.labels), [{ agent: 'live-tsc', label_site: 'berlin', label_team_name: 'db' }], 'agent labels as label_<key>, snake case');
  t.same(get('clockwatch_agent_labels', { agent: 'live-ntp' }).map((s) => s.labels), [{ agent: 'live-ntp' }], 'an agent without labels still has its series');

  const ahead = get('clockwatch_agent_offset_seconds', { agent: 'live-ahead' })[0]?.value as number;
  const aheadUnc = get('clockwatch_agent_offset_uncertainty_seconds', { agent: 'live-ahead' })[0]?.value as number;
  t.ok(Math.abs(ahead - 5) < 0.05, `offset of the guest 5 s ahead: ${ahead} s`);
  t.ok(aheadUnc > 0 && aheadUnc < 0.05, `with its uncertainty: ${aheadUnc} s`);
  const rtc = get('clockwatch_agent_rtc_offset_seconds', { agent: 'live-rtc' })[0]?.value as number;
  t.ok(Math.abs(rtc - 28_800) < 5, `RTC of the Shanghai guest in local time: ${rtc} s`);
  t.same(get('clockwatch_agent_ntp_synchronized', { agent: 'live-ntp' }).map((s) => s.value), [0]);
  t.same(get('clockwatch_agent_ntp_synchronized', { agent: 'live-ok' }).map((s) => s.value), [1]);
  t.ok((get('clockwatch_agent_last_report_timestamp_seconds', { agent: 'live-ok' })[0]?.value as number) > Date.now() / 1000 - 120, 'last seen');
  t.same(get('clockwatch_agent_clocksource_info', { agent: 'live-tsc' }).map((s) => s.labels.clocksource), ['tsc']);
  t.equal(get('clockwatch_fleet_agents', { status: 'noncompliant' })[0]?.value, Object.values(fleet.statuses).filter((s) => s === 'noncompliant').length);
  t.equal(get('clockwatch_fleet_agents', { status: 'stale' })[0]?.value, 0, 'a status with no agent reads 0');
  t.equal(get('clockwatch_ingest_reports_total', { result: 'stored' })[0]?.value, LIVE_AGENTS.length);
  t.equal(get('clockwatch_ingest_rejected_total', { code: 'CW_ERR_VALIDATION' })[0]?.value, 1);
  t.equal(get('clockwatch_ingest_request_duration_seconds_count', { result: '400' })[0]?.value, 1);
  t.ok(get('clockwatch_host_ntp_info', {}).length === 1, 'the collector host NTP state is exposed (daemon in the label)');
  t.notMatch(text, /clockwatch_agent_check_compliant|clockwatch_agent_compliant|agent_id=/, 'no 0/1 collapse of a check state, one agent label name');
});
