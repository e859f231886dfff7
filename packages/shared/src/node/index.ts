/**
 * @clockwatch/shared/node — the node-side edges both programs use, kept apart from the pure core
 * (which has no Node types and so cannot reach I/O).
 */
export * from './runner.js';
export * from './wall-clock.js';
export * from './durable-write.js';
export * from './options.js';
// Host-NTP readers (chronyc / ntpq / timedatectl): the agent reads its guest with them and the
// collector its host, one implementation for both.
export { type NtpReaderContext, type ChronycTarget } from './ntp/context.js';
export { parseChronyCsv, chronyToNtp, chronycArgs, chronycFailure, chronyLeap, chronySourceCounts, CHRONY_LOCAL_REFID, refIdText, readChrony, type ChronyTracking, type ChronySource } from './ntp/chrony.js';
export { parseKeyValues, parseTimespanS, parseSystemdTimestamp, parseNtpMessage, timesyncdToNtp, readTimesyncd } from './ntp/timesyncd.js';
export { parseNtpqVars, parseNtpTimestamp, ntpqToNtp, readNtpd, NTP_UNIX_OFFSET_S } from './ntp/ntpd.js';
export { readNtp, detectNtpDaemons, daemonsFromComms, procHidepid, DAEMON_COMMS, type DaemonScan, type DaemonCache } from './ntp/ntp.js';
export { FileCache, cacheable, type FileCacheOptions, type FileCacheCounts } from './ntp/file-cache.js';
export { parseCrontab, parseSystemdTimer, cronIntervalS, calendarIntervalS, expandCronField, oneShotTool, readOneShotSync, type OneShotSync } from './ntp/oneshot.js';
export { parseAdjtimexPrint, readKernelTimex, type KernelTimex } from './ntp/kernel.js';
