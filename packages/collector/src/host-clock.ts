/**
 * The collector host's own clock state. The collector is the reference clock for its guests, so a
 * verdict is only as good as the host's own NTP synchronisation: when the host is not
 * synchronised, every offset verdict says the reference is unreliable.
 *
 * The state is read with the agent's own readers (`readNtp` from @clockwatch/shared/node, wired by the
 * CLI) and cached: it is refreshed on a timer, never per request.
 */
import { isOk, type NtpSection } from '@clockwatch/shared';

export interface HostClockState {
  /** The NTP section as the agent's reader returns it (data or `{ error }`); null before the first read. */
  ntp: NtpSection | null;
  /** true/false when known; null when unknown (not read yet, unreadable, daemon cannot tell). */
  synchronized: boolean | null;
  /** Host ms of the last completed read; null before the first. */
  checkedAtMs: number | null;
}

/** What the app factory needs: the current (cached) state. Tests inject a fixed one. */
export interface HostClock {
  current(): HostClockState;
  /** Starts periodic refresh (the app calls it when it is ready). */
  start?(): Promise<void> | void;
  /** Stops timers (the app calls it on close). */
  stop?(): void;
}

export function synchronizedOf(ntp: NtpSection | null): boolean | null {
  if (ntp === null || !isOk(ntp)) return null;
  if (ntp.daemon === 'none') return false;
  // A daemon following only its own local reference (chrony `local stratum`, ntpd LOCAL(0)) is
  // free-running: the host is no reference then, and every verdict says so.
  if (ntp.localReferenceOnly) return false;
  return ntp.synchronized;
}

/** A host clock whose state never changes (tests, or a host known to be the reference). */
export function staticHostClock(ntp: NtpSection | null, checkedAtMs: number | null = null): HostClock {
  const state: HostClockState = { ntp, synchronized: synchronizedOf(ntp), checkedAtMs };
  return { current: () => state };
}

export interface CachedHostClockOptions {
  read: () => Promise<NtpSection>;
  /** Refresh period, ms (default 45 s: chrony's minimum poll is 64 s, so this sees every update). */
  refreshMs?: number;
  nowMs: () => number;
  onError?: (err: unknown) => void;
  onChange?: (state: HostClockState) => void;
  /** How long start() waits for the first read, ms (default 3000). */
  firstReadTimeoutMs?: number;
}

/**
 * Reads the host's NTP state now and every `refreshMs`. Reads never overlap; the timer is
 * unref()ed so it never keeps the process alive.
 */
export class CachedHostClock implements HostClock {
  private state: HostClockState = { ntp: null, synchronized: null, checkedAtMs: null };
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly refreshMs: number;

  constructor(private readonly options: CachedHostClockOptions) {
    this.refreshMs = options.refreshMs ?? 45_000;
  }

  current(): HostClockState {
    return this.state;
  }

  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      try {
        const ntp = await this.options.read();
        const prev = this.state.synchronized;
        this.state = { ntp, synchronized: synchronizedOf(ntp), checkedAtMs: this.options.nowMs() };
        if (prev !== this.state.synchronized) this.options.onChange?.(this.state);
      } catch (err) {
        // The agent's readers turn failures into data; a throw is a bug worth a log line, and the
        // last known state stays (with its checkedAtMs telling how old it is).
        this.options.onError?.(err);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
    // Wait for the first read, but not for long: a hung chronyc must not hold up start-up (the
    // state is "unknown" until the read completes).
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.refresh(), new Promise<void>((r) => (t = setTimeout(r, this.options.firstReadTimeoutMs ?? 3000)))]);
    clearTimeout(t);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
