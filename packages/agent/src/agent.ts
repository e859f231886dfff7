/**
 * The agent's life: read static facts once, then per cycle collect → spool → deliver. Modes:
 * print (no network, nothing written), once (one report plus the spool, the collector's verdict),
 * loop (every interval with jitter until stopped; a stop finishes the cycle in flight).
 */
import { ErrorCodes, type AgentInfo, type CommandRunner, type IngestResult, type Report } from '@clockwatch/shared';
import type { Client } from 'undici';
import { collectReport, newReportId, readStaticFacts, type StaticFacts } from './collect.js';
import type { AgentConfig } from './config.js';
import type { ReaderContext } from './context.js';
import { AgentErrorCodes } from './errors.js';
import { deliverSpool, type DeliverResult } from './deliver.js';
import type { Logger } from './log.js';
import { runTimeExchange } from './probe.js';
import { readIdentity } from './readers/identity.js';
import { loadRunState, readRunClocks, saveRunState, stepSinceLastRun } from './run-state.js';
import { readKeptAgentId, Spool } from './spool.js';
import { createStepDetector, type StepDetector } from './steps.js';
import { pushReports } from './transport.js';
import { AGENT_VERSION } from './version.js';
import { AnchoredWallClock, atomicsIdleWait, FileCache, SYSTEM_CLOCK_SOURCES } from '@clockwatch/shared/node';

export interface AgentDeps {
  config: AgentConfig;
  run: CommandRunner;
  env?: Record<string, string | undefined>;
  log: Logger;
  /** Effective uid 0: hwclock is allowed only then. */
  isRoot?: boolean;
  /** os.platform() of the guest the readers describe ('win32' selects the Windows readers). */
  platform?: string;
  /** systeminformation for the Windows inventory (tests pass recorded answers). */
  sysinfo?: ReaderContext['sysinfo'];
  nowMs?: () => number;
  random?: () => number;
}

export interface OnceResult {
  exitCode: number;
  output: Record<string, unknown>;
}

export interface CycleStats {
  seq: number;
  spawns: number;
  /** CPU time of the agent process in this cycle (user + system), ms; children not included. */
  cpuMs: number;
  userMs: number;
  delivery: DeliverResult | null;
}

export class Agent {
  readonly config: AgentConfig;
  private readonly deps: AgentDeps;
  private readonly ctx: ReaderContext;
  private readonly steps: StepDetector;
  private readonly clock: AnchoredWallClock;
  private spool: Spool | null = null;
  private client: Client | null = null;
  private ClientClass: typeof Client | null = null;
  /** The collector's dedicated time listener (named by its clockwatch-time-port header). */
  private timeClient: { port: number; client: Client } | null = null;
  /** A time port that failed, and until when the exchange stays on the collector URL. */
  private timePortFailed: { port: number; untilMs: number } | null = null;
  private staticFacts: StaticFacts | null = null;
  private info: AgentInfo | null = null;
  private spawns = 0;
  private printSeq = 0;
  /** Steps seen between runs (--once, run-state.ts), for the next report. */
  private carriedEvents: ReturnType<StepDetector['take']> = [];
  private notBeforeMs = 0;
  private stopping = false;
  private wake: (() => void) | null = null;
  readonly cycles: CycleStats[] = [];

  private constructor(deps: AgentDeps) {
    this.deps = deps;
    this.config = deps.config;
    const run: CommandRunner = (cmd, args, o) => {
      this.spawns++;
      return deps.run(cmd, args, o);
    };
    this.ctx = {
      root: deps.config.root,
      run,
      env: deps.env ?? {},
      nowMs: deps.nowMs ?? Date.now,
      chrony: deps.config.chronyc ?? undefined,
      commandTimeoutMs: deps.config.timeoutMs,
      daemonCache: {},
      timezoneCache: {},
      cpuCache: {},
      // Crontabs, timer units and pid files, one stat each per cycle while unchanged (file-cache.ts).
      // Its clock is the real one: it compares with the ctime the kernel stamps, never a test's.
      fileCache: new FileCache(),
      platform: deps.platform,
      sysinfo: deps.sysinfo,
    };
    this.steps = createStepDetector(deps.config.stepThresholdMs);
    // Re-anchored before every exchange: sleeping until just before the edge the last anchor
    // predicts, not spinning for it (wall-clock.ts takeAnchor), saves ~0.5 ms of CPU per cycle.
    this.clock = new AnchoredWallClock({ sources: { ...SYSTEM_CLOCK_SOURCES, idleWaitMs: atomicsIdleWait } });
  }

  /** Reads the static facts and the identity; opens the spool unless printing. */
  static async create(deps: AgentDeps): Promise<Agent> {
    const a = new Agent(deps);
    if (deps.config.mode !== 'print') a.spool = await Spool.open({ dir: deps.config.spoolDir, maxReports: deps.config.spoolMaxReports, maxBytes: deps.config.spoolMaxBytes });
    a.staticFacts = await readStaticFacts(a.ctx);
    const ident = a.staticFacts.identity ?? (await readIdentity(a.ctx.root));
    let id: string;
    let idSource: NonNullable<AgentInfo['idSource']>;
    if (deps.config.id) [id, idSource] = [deps.config.id, 'config'];
    else if (ident.machineId) [id, idSource] = [ident.machineId, 'machine-id'];
    else if (ident.systemUuid) [id, idSource] = [ident.systemUuid, 'smbios'];
    else {
      // No stable id in the guest: one generated once and kept in the spool (--print keeps nothing).
      const kept = a.spool ? await a.spool.keptAgentId(true) : await readKeptAgentId(deps.config.spoolDir);
      [id, idSource] = [kept ?? newReportId(), 'generated'];
    }
    a.info = {
      id,
      hostname: ident.hostname,
      version: AGENT_VERSION,
      systemUuid: ident.systemUuid,
      idSource,
      labels: { ...deps.config.labels },
      intervalS: deps.config.intervalS,
    };
    return a;
  }

  get agentId(): string {
    return this.info!.id;
  }

  spawnCount(): number {
    return this.spawns;
  }

  stepsTotal(): number {
    return this.steps.total();
  }

  spoolCounts() {
    return this.spool?.counts() ?? null;
  }

  private async dispatcher(): Promise<{ client: Client; basePath: string }> {
    const url = new URL(this.config.collector);
    if (!this.client) {
      // Loaded on first use: --print and the pull endpoint never pay for undici; and only its
      // Client (http-client.ts: the whole package costs ~8 MiB more RSS).
      const { Client } = await import('./http-client.js');
      this.ClientClass = Client;
      // One connection, kept alive across cycles: the exchange and the pushes share it.
      this.client = new Client(url.origin, { keepAliveTimeout: Math.max(4000, this.config.intervalS * 1000 + 10_000), connect: { timeout: this.config.timeoutMs } });
    }
    return { client: this.client, basePath: url.pathname.replace(/\/+$/, '') };
  }

  /**
   * A connection to the advertised time port on the collector's host (same scheme, so the same
   * TLS certificate), or null while that port is in its back-off after a failure.
   */
  private timeDispatcher(port: number): Client | null {
    const now = Date.now();
    if (this.timePortFailed && this.timePortFailed.port === port && now < this.timePortFailed.untilMs) return null;
    if (this.timeClient?.port === port) return this.timeClient.client;
    void this.timeClient?.client.close().catch(() => undefined);
    const url = new URL(this.config.collector);
    const Client = this.ClientClass!;
    // url.hostname keeps an IPv6 literal's brackets.
    const origin = `${url.protocol}//${url.hostname}:${port}`;
    // A firewalled port must not hold the cycle for the whole --timeout: 2 s to connect at most.
    const client = new Client(origin, { keepAliveTimeout: Math.max(4000, this.config.intervalS * 1000 + 10_000), connect: { timeout: Math.min(2000, this.config.timeoutMs) } });
    this.timeClient = { port, client };
    return client;
  }

  /** The time port's client while its connection is open (undici ClientStats.connected). */
  private liveTimeClient(): { port: number; dispatcher: Client } | null {
    const c = this.timeClient;
    if (!c || !c.client.stats.connected) return null;
    if (this.timePortFailed?.port === c.port && Date.now() < this.timePortFailed.untilMs) return null;
    return { port: c.port, dispatcher: c.client };
  }

  private timePortFailure(port: number, err: unknown): void {
    // An hour on the collector URL, then try again (the port may have been opened meanwhile).
    this.timePortFailed = { port, untilMs: Date.now() + 3_600_000 };
    const c = this.timeClient;
    this.timeClient = null;
    void c?.client.close().catch(() => undefined);
    this.deps.log.warn(`the collector's time port ${port} did not answer (${err instanceof Error ? err.message : String(err)}): time exchange on the collector URL for the next hour`);
  }

  /** Collects one report. `probe`: run the time exchange; `consumeEvents`: take pending steps into it. */
  async buildReport(opts: { probe: boolean; consumeEvents: boolean }): Promise<Report> {
    this.steps.check();
    // A pushed report takes the next seq; a pulled one (--listen) repeats the last, so that the
    // sequence the collector receives has no gaps.
    const seq = this.spool ? (opts.probe ? await this.spool.nextSeq() : this.spool.currentSeq()) : this.printSeq++;
    const agent: AgentInfo = { ...this.info! };
    if (this.spool) agent.spool = this.spool.counts();
    const timeProbe = opts.probe
      ? async () => {
          const { client, basePath } = await this.dispatcher();
          return runTimeExchange({
            dispatcher: client,
            basePath,
            clock: this.clock,
            samples: this.config.samples,
            timeoutMs: this.config.timeoutMs,
            token: this.config.token,
            timeDispatcher: (port) => this.timeDispatcher(port),
            onTimePortFailure: (port, err) => this.timePortFailure(port, err),
            liveTimePort: () => this.liveTimeClient(),
          });
        }
      : { error: { code: ErrorCodes.PROBE_SKIPPED, message: this.config.mode === 'print' ? '--print: no network' : 'pull endpoint: no exchange with a collector' } };
    return collectReport({
      ctx: this.ctx,
      agent,
      static: this.staticFacts!,
      seq,
      timeProbe,
      events: opts.consumeEvents ? [...this.carriedEvents.splice(0), ...this.steps.take()] : [...this.carriedEvents, ...this.steps.peek()],
      rtc: { hwclock: this.config.hwclock, isRoot: this.deps.isRoot ?? false },
    });
  }

  /** --print: one report, no network, nothing written. */
  async print(): Promise<Report> {
    return this.buildReport({ probe: false, consumeEvents: true });
  }

  /**
   * Collects with the exchange and puts the report in the spool. The agent does not load the
   * schema validator (it costs ~10 MB of RSS): the collector validates, and a report it refuses
   * is logged with the collector's code and counted as rejected. The tests validate every
   * reader's output against schema v1.
   */
  private async collectAndSpool(): Promise<Report> {
    const r = await this.buildReport({ probe: true, consumeEvents: true });
    const dropped = await this.spool!.add(r);
    if (dropped > 0) this.deps.log.warn(`spool full: dropped the ${dropped} oldest report(s)`);
    return r;
  }

  private async deliver(deadlineMs: number): Promise<DeliverResult> {
    const { client, basePath } = await this.dispatcher();
    return deliverSpool({
      spool: this.spool!,
      push: (reports) => pushReports(reports, { dispatcher: client, basePath, token: this.config.token, timeoutMs: Math.max(this.config.timeoutMs, 15_000) }),
      log: this.deps.log,
      deadlineMs,
      random: this.deps.random,
      sleep: (ms) => this.sleep(ms),
      stopped: () => this.stopping,
    });
  }

  /** --once: one report plus whatever is spooled; the verdict of this report decides the exit code. */
  async once(): Promise<OnceResult> {
    // The timer mode: compare the clocks with the previous run's (run-state.ts), keep them for the next.
    const prev = loadRunState(this.config.spoolDir);
    if (prev.problem) this.deps.log.warn(prev.problem);
    const clocks = readRunClocks();
    const step = stepSinceLastRun(prev.state, clocks, this.config.stepThresholdMs);
    if (step) this.carriedEvents.push(step);
    const r = await this.collectAndSpool();
    try {
      // After the report holding the step is spooled: a run that dies before never loses a step.
      saveRunState(this.config.spoolDir, clocks);
    } catch (err) {
      this.deps.log.warn(`cannot keep the clock state for the next run: ${(err as Error).message}`);
    }
    const d = await this.deliver(Date.now() + 30_000);
    const res: IngestResult | undefined = d.results.get(r.reportId);
    if (res) return { exitCode: 0, output: { accepted: true, ...res } };
    const stillSpooled = this.spool!.list().some((e) => e.reportId === r.reportId);
    const code = d.status === 'auth' ? AgentErrorCodes.AUTH : stillSpooled ? AgentErrorCodes.UNDELIVERED : AgentErrorCodes.REJECTED;
    return {
      exitCode: stillSpooled ? 1 : 2,
      output: { accepted: false, reportId: r.reportId, spooled: stillSpooled, error: { code, message: d.lastError ?? 'not acknowledged' } },
    };
  }

  /** One loop cycle: collect → spool → deliver (unless the collector asked us to wait). */
  async cycle(deadlineMs: number): Promise<CycleStats> {
    const cpu0 = process.cpuUsage();
    const spawns0 = this.spawns;
    const r = await this.collectAndSpool();
    let delivery: DeliverResult | null = null;
    if (Date.now() >= this.notBeforeMs) {
      delivery = await this.deliver(deadlineMs);
      this.notBeforeMs = delivery.notBeforeMs ?? 0;
    }
    const cpu = process.cpuUsage(cpu0);
    const stats: CycleStats = { seq: r.seq, spawns: this.spawns - spawns0, cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, delivery };
    this.cycles.push(stats);
    if (this.cycles.length > 100) this.cycles.shift();
    this.deps.log.debug(`cycle seq ${stats.seq}: ${stats.cpuMs.toFixed(2)} ms CPU (${stats.userMs.toFixed(2)} user), ${stats.spawns} process(es), delivery ${delivery?.status ?? 'waiting'}, ${this.spool!.list().length} pending`);
    return stats;
  }

  /** Runs until stop(): a cycle every interval ± 10 %. */
  async runLoop(): Promise<void> {
    const intervalMs = this.config.intervalS * 1000;
    while (!this.stopping) {
      const start = Date.now();
      try {
        await this.cycle(start + Math.max(intervalMs * 0.8, Math.min(intervalMs, 5000)));
      } catch (err) {
        this.deps.log.error(`cycle failed: ${(err as Error).stack ?? String(err)}`);
      }
      if (this.stopping) break;
      const jitter = 1 + ((this.deps.random ?? Math.random)() - 0.5) * 0.2;
      await this.sleep(Math.max(0, start + intervalMs * jitter - Date.now()));
    }
  }

  /** Ends the loop after the cycle in flight (and cuts any wait short). */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    this.client = null;
    await this.timeClient?.client.close().catch(() => undefined);
    this.timeClient = null;
  }
}
