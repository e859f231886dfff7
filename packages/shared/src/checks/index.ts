/**
 * The check registry: every check clockwatch judges, in the order verdicts list them. Adding a check
 * means one new file in this folder, one line here, and its cases under test/fixtures/cases/; the
 * policy schema, CHECK_IDS, stored columns, CSV columns, metric labels and OpenAPI enums follow.
 */
import { clocksourceCheck } from './clocksource.js';
import { libvirtClockCheck } from './libvirt-clock.js';
import { ntpCheck } from './ntp.js';
import { offsetCheck } from './offset.js';
import { reportingCheck } from './reporting.js';
import { rtcCheck } from './rtc.js';
import { timezoneCheck } from './timezone.js';
import type { CheckDefinition } from './types.js';

export const CHECKS = [clocksourceCheck, offsetCheck, rtcCheck, timezoneCheck, ntpCheck, reportingCheck, libvirtClockCheck] as const;

type AnyCheck = (typeof CHECKS)[number];
export type CheckId = AnyCheck['id'];
type SettingsOf<C> = C extends CheckDefinition<string, infer P> ? P : never;
/** Every check's resolved settings, keyed by check id. */
export type CheckSettingsMap = { [C in AnyCheck as C['id']]: SettingsOf<C> };

export const CHECK_IDS = CHECKS.map((c) => c.id) as readonly CheckId[];
/** Checks judged per report and stored with each sample (those that do not depend on the instant of the verdict). */
export const STORED_CHECK_IDS = CHECKS.filter((c) => !c.dependsOnNow).map((c) => c.id) as readonly CheckId[];

export const CHECK_BY_ID: Readonly<Record<CheckId, CheckDefinition<CheckId, { enabled: boolean }>>> = Object.freeze(
  Object.fromEntries(CHECKS.map((c) => [c.id, c])) as unknown as Record<CheckId, CheckDefinition<CheckId, { enabled: boolean }>>,
);

export function isCheckId(id: string): id is CheckId {
  return Object.prototype.hasOwnProperty.call(CHECK_BY_ID, id);
}

export * from './types.js';
export { clocksourceCheck } from './clocksource.js';
export { offsetCheck } from './offset.js';
export { rtcCheck } from './rtc.js';
export { timezoneCheck } from './timezone.js';
export { ntpCheck } from './ntp.js';
export { isStaleAt, reportingCheck, reportingStatusOf, staleAfterMs } from './reporting.js';
export * from './libvirt-clock.js';
export * from './host-audit.js';
