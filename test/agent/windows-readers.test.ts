/**
 * Windows readers on recorded outputs (test/fixtures/commands/windows/, provenance in its README):
 * w32tm status and configuration in English, German (labels and by position) and a language the
 * parser has no labels for, the TimeZoneInformation key (timezone and RTC mode), and the CLDR
 * windowsZones mapping shipped as data.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  parseRegQuery,
  parseTimeZoneInformation,
  parseW32tmConfiguration,
  parseW32tmStatus,
  readTimeZoneInformation,
  readW32time,
  regInt32,
  regNumber,
  TZI_KEY,
  w32tmToNtp,
  windowsRtcSection,
  windowsTimezoneSection,
  windowsToIana,
  windowsZoneNames,
  windowsZoneTerritories,
  WINDOWS_ZONES_CLDR_VERSION,
} from '@clockwatch/agent';
import { ErrorCodes, isKnownZone } from '@clockwatch/shared';
import { commandsDir } from './helpers/paths.js';
import { replay, scripted } from './helpers/runners.js';

const W = (scenario: string) => `windows/${scenario}`;
const rec = (scenario: string, f: string) => readFileSync(path.join(commandsDir(W(scenario)), f), 'utf8');
const STATUS = 'w32tm__query__status__verbose.out';
const CONFIG = 'w32tm__query__configuration.out';
const REG = 'reg_query_HKLM_SYSTEM_CurrentControlSet_Control_TimeZoneInformation.out';
const ctx = (run: ReturnType<typeof replay>['run']) => ({ root: '/', run, platform: 'win32' });

t.test('w32tm status, English, synchronised (snclient recording)', async (t) => {
  const s = parseW32tmStatus(rec('synced-en', STATUS));
  t.match(s, {
    language: 'en', leap: 0, stratum: 4, precision: -6, rootDelayS: 0.0385101, rootDispersionS: 0.028135, refId: '14653909', refAddress: '20.101.57.9',
    lastSyncText: '12/20/2023 9:30:13 AM', source: 'time.windows.com,0x8', pollLog2: 10, pollIntervalS: 1024, phaseOffsetS: 0.0061517, stateMachine: 2, lastSyncError: 0, sinceLastGoodSyncS: 339.9333552,
  });
  const n = w32tmToNtp(s);
  t.same(n, { daemon: 'w32time', synchronized: true, server: 'time.windows.com', stratum: 4, offsetMs: null, lastSyncAgeS: 339.933, pollIntervalS: 1024, maxErrorMs: 47.39005 });
});

t.test('w32tm status: Hold with stale data is still synchronised, its age says how stale (Checkmk recording)', async (t) => {
  const n = w32tmToNtp(parseW32tmStatus(rec('hold-stale-en', STATUS)));
  t.match(n, { synchronized: true, server: 'time.windows.com', lastSyncAgeS: 2820.2, pollIntervalS: 1024 });
  t.ok(n.maxErrorMs! > 7777, 'w32time root dispersion 7.78 s is the bound it claims');
});

t.test('w32tm status: Local CMOS Clock, never synchronised (Checkmk recording)', async (t) => {
  const s = parseW32tmStatus(rec('unsynced-cmos-en', STATUS));
  t.match(s, { leap: 3, stratum: 0, refId: '00000000', source: 'Local CMOS Clock', lastSyncText: 'unspecified', sinceLastGoodSyncS: 10.0402148 });
  t.same(
    w32tmToNtp(s),
    { daemon: 'w32time', synchronized: false, server: null, stratum: null, offsetMs: null, lastSyncAgeS: null, pollIntervalS: 1024, maxErrorMs: null, localReferenceOnly: true, serverName: 'Local CMOS Clock' },
    '"Time since Last Good Sync" is ignored when it never synced; the own-clock source is kept for the fix',
  );
});

t.test('w32tm status: a server that follows its own clock (LOCL, stratum 1) is free-running', async (t) => {
  const text = rec('synced-en', STATUS).replace('ReferenceId: 0x14653909 (source IP:  20.101.57.9)', 'ReferenceId: 0x4C4F434C (source name:  "LOCL")').replace('Source: time.windows.com,0x8', 'Source: Local CMOS Clock').replace('Stratum: 4', 'Stratum: 1');
  const s = parseW32tmStatus(text);
  t.equal(s.refAddress, 'LOCL');
  t.match(w32tmToNtp(s), { synchronized: false, localReferenceOnly: true, serverName: 'Local CMOS Clock' });
  const s2 = parseW32tmStatus(rec('synced-en', STATUS).replace('Source: time.windows.com,0x8', 'Source: Free-running System Clock'));
  t.match(w32tmToNtp(s2), { synchronized: false, localReferenceOnly: true, serverName: 'Free-running System Clock' }, 'Free-running System Clock');
});

t.test('w32tm status: Hyper-V time provider (Microsoft docs sample)', async (t) => {
  const n = w32tmToNtp(parseW32tmStatus(rec('hyperv-vmic-en', STATUS)));
  t.match(n, { synchronized: true, server: 'VM IC Time Synchronization Provider', stratum: 1, pollIntervalS: 64, lastSyncAgeS: 15.734 });
});

t.test('w32tm status, German: labels for the status block, position for /verbose', async (t) => {
  const text = rec('synced-de', STATUS);
  const s = parseW32tmStatus(text);
  t.match(s, { language: 'de', leap: 0, stratum: 3, precision: -23, rootDelayS: 0.0011802, refAddress: '10.20.0.10', source: 'ntp1.berlin.example,0x9', pollIntervalS: 256, phaseOffsetS: -0.0004211, stateMachine: 2, lastSyncError: 0, sinceLastGoodSyncS: 108.3321877 });
  t.match(w32tmToNtp(s), { synchronized: true, server: 'ntp1.berlin.example', stratum: 3, lastSyncAgeS: 108.332, pollIntervalS: 256 });
  // A German console writes cp850: decoded as UTF-8 the umlauts become U+FFFD.
  const cp850 = parseW32tmStatus(text.replace(/[äöü]/g, '\uFFFD'));
  t.same({ ...cp850 }, { ...s }, 'the same facts from the mis-decoded text');
  t.equal(parseW32tmStatus(text.replace('Letzte erfolgreiche Synchronisierungszeit: 01.12.2026 09:58:12', 'Letzte erfolgreiche Synchronisierungszeit: nicht angegeben')).lastSyncText, 'nicht angegeben');
});

t.test('w32tm status in a language without labels: read by position, refused when the shapes do not fit', async (t) => {
  // French puts a space before the colon; labels are unknown to the parser (composed from the English recording).
  const fr = rec('synced-en', STATUS)
    .split('\r\n')
    .map((l) => l.replace(/^([^:]+):/, (_, label: string) => `Libellé ${label.length} :`))
    .join('\r\n');
  const s = parseW32tmStatus(fr);
  t.equal(s.language, 'positional');
  t.match(w32tmToNtp(s), { synchronized: true, server: 'time.windows.com', stratum: 4, pollIntervalS: 1024, lastSyncAgeS: 339.933 });
  const shuffled = fr.split('\r\n');
  [shuffled[0], shuffled[1]] = [shuffled[3]!, shuffled[0]!];
  const bad = parseW32tmStatus(shuffled.join('\r\n'));
  t.equal(bad.language, null, 'a line out of place: nothing is guessed');
  t.match(w32tmToNtp(bad), { synchronized: null });
});

t.test('w32tm configuration (MicrosoftDocs issue recording)', async (t) => {
  const c = parseW32tmConfiguration(rec('synced-en', CONFIG));
  t.same(c, { type: 'NTP', ntpServers: ['ntp0.as34288.net'], ntpClientEnabled: true, specialPollIntervalS: 64, minPollLog2: 6, maxPollLog2: 6 });
  // The status poll wins; the configuration fills in when the status line is missing.
  const s = parseW32tmStatus(rec('synced-en', STATUS));
  t.equal(w32tmToNtp({ ...s, pollIntervalS: null }, c).pollIntervalS, 64);
});

t.test('readW32time through the runner: two processes; stopped service; failures', async (t) => {
  const r = replay(W('synced-en'));
  const n = await readW32time(ctx(r.run));
  t.same(r.calls, ['w32tm /query /status /verbose', 'w32tm /query /configuration']);
  t.match(n, { daemon: 'w32time', synchronized: true, server: 'time.windows.com' });

  const stopped = await readW32time(ctx(replay(W('service-stopped')).run));
  t.same(stopped, { daemon: 'none', synchronized: null, server: null, stratum: null, offsetMs: null, lastSyncAgeS: null, pollIntervalS: null, maxErrorMs: null }, 'W32Time stopped: nothing syncs this clock');

  const denied = scripted({ 'w32tm /query /status /verbose': { code: 1, stdout: 'The following error occurred: Access is denied. (0x80070005)\r\n', stderr: '' } });
  t.match(await readW32time(ctx(denied.run)), { daemon: 'w32time', synchronized: null, statusError: { code: ErrorCodes.PERMISSION } });
  const missing = scripted({});
  t.match(await readW32time(ctx(missing.run)), { statusError: { code: ErrorCodes.NOT_FOUND } });
  const garbage = scripted({ 'w32tm /query /status /verbose': { code: 0, stdout: 'hello\r\n', stderr: '' } });
  t.match(await readW32time(ctx(garbage.run)), { statusError: { code: ErrorCodes.PARSE } });
});

t.test('reg query: values, signed biases, REG_QWORD', async (t) => {
  const keys = parseRegQuery(rec('synced-en', REG));
  t.equal(keys.length, 1);
  t.equal(keys[0]!.path, 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation');
  t.equal(keys[0]!.values.size, 10, 'every value line');
  t.equal(regInt32(keys[0]!.values.get('bias')), -480, '0xfffffe20 = −480 min');
  t.equal(regInt32(keys[0]!.values.get('daylightbias')), -60);
  t.equal(regNumber(parseRegQuery(rec('synced-de', REG))[0]!.values.get('realtimeisuniversal')), 1, 'REG_QWORD 0x1');
});

t.test('TimeZoneInformation: China Standard Time (PocketMine recording)', async (t) => {
  const tzi = parseTimeZoneInformation(rec('synced-en', REG))!;
  t.same(tzi, { keyName: 'China Standard Time', biasMin: -480, activeBiasMin: -480, dynamicDstDisabled: false, realTimeIsUniversal: null });
  const at = Date.UTC(2026, 11, 1, 10);
  const tz = windowsTimezoneSection({ ok: true, tzi }, at);
  t.match(tz, { name: 'Asia/Shanghai', offsetS: 28800, dst: false, source: 'TimeZoneKeyName', disagreements: [] });
  t.same(windowsRtcSection({ ok: true, tzi }), {
    error: { code: 'CW_ERR_RTC_UNREADABLE', message: 'Windows cannot read the RTC (CMOS clock) without a kernel driver; the configured mode comes from RealTimeIsUniversal' },
    mode: 'LOCAL',
    modeSource: 'RealTimeIsUniversal',
    modeSources: [{ source: 'RealTimeIsUniversal', mode: 'LOCAL', detail: 'absent (Windows default: local time)' }],
  });
});

t.test('TimeZoneInformation: Berlin, RealTimeIsUniversal as REG_QWORD, DST and its switch', async (t) => {
  const tzi = parseTimeZoneInformation(rec('synced-de', REG))!;
  t.match(windowsRtcSection({ ok: true, tzi }), { mode: 'UTC', modeSources: [{ detail: 'REG_QWORD 0x1' }] });
  const winter = Date.UTC(2026, 11, 1, 10);
  t.match(windowsTimezoneSection({ ok: true, tzi }, winter), { name: 'Europe/Berlin', offsetS: 3600, dst: false, disagreements: [] });
  // Summer: Windows switched ActiveTimeBias to −120.
  const summerText = rec('synced-de', REG).replace('ActiveTimeBias    REG_DWORD    0xffffffc4', 'ActiveTimeBias    REG_DWORD    0xffffff88');
  const summer = Date.UTC(2026, 6, 1, 10);
  t.match(windowsTimezoneSection({ ok: true, tzi: parseTimeZoneInformation(summerText)! }, summer), { name: 'Europe/Berlin', offsetS: 7200, dst: true, disagreements: [] });
  // "Adjust for daylight saving time automatically" off: standard time all summer, and said so.
  const noDst = rec('synced-de', REG).replace('DynamicDaylightTimeDisabled    REG_DWORD    0x0', 'DynamicDaylightTimeDisabled    REG_DWORD    0x1');
  const s = windowsTimezoneSection({ ok: true, tzi: parseTimeZoneInformation(noDst)! }, summer);
  t.match(s, { name: 'Europe/Berlin', offsetS: 3600, dst: false });
  t.match((s as { disagreements: string[] }).disagreements.join(' | '), /DynamicDaylightTimeDisabled=1.*daylight saving time is switched off/);
  t.match(windowsRtcSection({ ok: true, tzi: parseTimeZoneInformation(rec('synced-de', REG).replace('REG_QWORD    0x1', 'REG_DWORD    0x0'))! }), { mode: 'LOCAL', modeSources: [{ detail: 'REG_DWORD 0x0' }] });
});

t.test('TimeZoneInformation failures are error sections, never defaults', async (t) => {
  const failed = { ok: false as const, error: { code: ErrorCodes.COMMAND_FAILED, message: 'reg query exited 1' } };
  t.same(windowsTimezoneSection(failed, 0), { error: failed.error });
  t.match(windowsRtcSection(failed), { error: { code: 'CW_ERR_RTC_UNREADABLE' }, mode: null, modeSource: null });
  const r = await readTimeZoneInformation({ root: '/', run: scripted({}).run });
  t.match(r, { ok: false, error: { code: ErrorCodes.NOT_FOUND } });
  const denied = scripted({ [`reg query ${TZI_KEY}`]: { code: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' } });
  t.match(await readTimeZoneInformation({ root: '/', run: denied.run }), { ok: false, error: { code: ErrorCodes.COMMAND_FAILED, message: /Access is denied/ } });
  const unknownName = parseTimeZoneInformation(rec('synced-en', REG).replace('China Standard Time', 'Atlantis Standard Time'))!;
  t.match(windowsTimezoneSection({ ok: true, tzi: unknownName }, 0), { name: null, offsetS: 28800, sources: [{ detail: /not in CLDR/ }] });
});

t.test(`CLDR ${WINDOWS_ZONES_CLDR_VERSION} windowsZones: every Windows name maps to a zone Node's Intl knows`, async (t) => {
  const names = windowsZoneNames();
  t.ok(names.length >= 130, `${names.length} Windows zones`);
  const unknown: string[] = [];
  for (const name of names) {
    const iana = windowsToIana(name);
    if (!iana || !isKnownZone(iana)) unknown.push(`${name} → ${iana}`);
    for (const ids of Object.values(windowsZoneTerritories(name)!)) for (const id of ids.split(' ')) if (!isKnownZone(id)) unknown.push(`${name}: ${id}`);
  }
  t.same(unknown, [], 'no Windows name without a known IANA zone');
  t.equal(windowsToIana('W. Europe Standard Time'), 'Europe/Berlin');
  t.equal(windowsToIana('Central Standard Time'), 'America/Chicago', 'territory 001');
  t.equal(windowsToIana('Central Standard Time', 'CA'), 'America/Winnipeg', 'a region refines it');
  t.equal(windowsToIana('Nowhere Standard Time'), null);
});
