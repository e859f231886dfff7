/**
 * @clockwatch/agent: the readers (each a pure parse + an I/O read under a root), the time
 * exchange, the spool and delivery, and the Agent that ties them together. The CLI is dist/cli.js.
 */
export { AGENT_VERSION } from './version.js';
export { type ReaderContext, type ChronycTarget, underRoot, readText, DEFAULT_COMMAND_TIMEOUT_MS } from './context.js';
export { createCommandRunner, createReplayRunner, recordingName, type CommandRunnerOptions } from './runner.js';

export { parseClocksource, parseInvariantTsc, readClocksource, CLOCKSOURCE_DIR } from './readers/clocksource.js';
export { parseAdjtime, parseSysconfigClock, parseShellVars, readRtcMode, type RtcModeResult } from './readers/rtc-mode.js';
export { chooseRtcDevice, parseSinceEpoch, parseProcDriverRtc, parseHwclockShow, readRtc, type RtcReadOptions } from './readers/rtc.js';
export { isTzif, parseTzif, tzifAt, parsePosixTz, posixTzAt, type Tzif, type TzType } from './readers/tzif.js';
export { realpathUnderRoot, zoneNameFromPath, findZoneMatches, ZONEINFO_DIR, type ZoneMatch } from './readers/zoneinfo.js';
export { decideTimezone, parseEtcTimezone, zoneFromTzEnv, readTimezone, type TimezoneFacts, type LocaltimeFacts } from './readers/timezone.js';
// The NTP readers live in @clockwatch/shared/node (the collector reads its host with them too).
export { parseChronyCsv, chronyToNtp, chronycArgs, refIdText, readChrony, type ChronyTracking, type ChronySource } from '@clockwatch/shared/node';
export { parseKeyValues, parseTimespanS, parseSystemdTimestamp, parseNtpMessage, timesyncdToNtp, readTimesyncd } from '@clockwatch/shared/node';
export { parseNtpqVars, parseNtpTimestamp, ntpqToNtp, readNtpd, NTP_UNIX_OFFSET_S } from '@clockwatch/shared/node';
export { readNtp, detectNtpDaemons, daemonsFromComms, DAEMON_COMMS, type DaemonScan } from '@clockwatch/shared/node';
export { parseMachineId, parseSmbiosUuid, readIdentity, type IdentityFacts } from './readers/identity.js';
export { parseOsRelease, parseRedhatRelease, detectVirtualization, parseUptime, readDistro, readPlatform, readUptimeS, type VirtFacts } from './readers/platform.js';

export { AnchoredWallClock, takeAnchor, type WallClock, type Anchor, type ClockSources } from '@clockwatch/shared/node';
export { createStepDetector, type StepDetector, type StepClocks } from './steps.js';
export { runTimeExchange, type ProbeOptions } from './probe.js';
export { collectReport, readStaticFacts, newReportId, type CollectOptions, type StaticFacts } from './collect.js';
export { Spool, readKeptAgentId, writeFileDurable, type SpoolEntry, type SpoolCounts, type SpoolOptions } from './spool.js';
export { pushReports, parseRetryAfterMs, backoffMs, type PushOutcome, type PushOptions } from './transport.js';
export { deliverSpool, type DeliverOptions, type DeliverResult } from './deliver.js';
export { Agent, type AgentDeps, type OnceResult, type CycleStats } from './agent.js';
export { loadConfig, defaultSpoolDir, ConfigError, USAGE, type AgentConfig, type LoadInput, type LoadResult } from './config.js';
export { startListener, type Listener, type ListenOptions } from './listen.js';
export { reportToPrometheus } from './metrics.js';
export { AgentErrorCodes } from './errors.js';
export { createLogger, silentLogger, type Logger, type LogLevel } from './log.js';

// Windows guests (readers/windows/): each a pure parse plus a read through the injected runner.
export { parseRegQuery, regNumber, regInt32, regString, regGet, type RegKey, type RegValue } from './readers/windows/reg.js';
export { parseW32tmStatus, parseW32tmConfiguration, w32tmToNtp, w32tmFailure, foldLabel, readW32time, type W32tmStatus, type W32tmConfiguration } from './readers/windows/w32tm.js';
export { parseTimeZoneInformation, windowsRtcMode, windowsRtcSection, windowsTimezoneSection, readTimeZoneInformation, TZI_KEY, type TimeZoneInformation, type TziRead } from './readers/windows/time-zone-information.js';
// The CLDR windowsZones mapping lives in @clockwatch/shared (the timezone check names Windows zones too).
export { windowsToIana, windowsZoneNames, windowsZoneTerritories, WINDOWS_ZONES_CLDR_VERSION } from '@clockwatch/shared';
export { windowsInventory, readWindowsInventory, parseMachineGuid, type SystemInfoSource, type WindowsInventory } from './readers/windows/inventory.js';
export { collectWindowsSections, readWindowsStaticFacts, WINDOWS_CLOCKSOURCE } from './readers/windows/collect-windows.js';
