#!/usr/bin/env node
/**
 * clockwatch-agent: the only module that touches the process (argv, env, exit code, signals,
 * stdout/stderr). Everything else gets root, env, runner and clock passed in.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Agent } from './agent.js';
import { ConfigError, loadConfig, USAGE, type AgentConfig } from './config.js';
import { startListener, type Listener } from './listen.js';
import { createLogger } from './log.js';
import { createCommandRunner, createReplayRunner } from './runner.js';

function fail(option: string, message: string): number {
  process.stderr.write(`clockwatch-agent: ${option}: ${message}\n`);
  return 2;
}

/**
 * V8 settings for a process that wakes once a minute for a few ms (issue 12 item 5; measured in
 * bench/README.md, "Agent memory"). undici parses HTTP with llhttp compiled to WebAssembly, and V8
 * compiles it twice: Liftoff first, then TurboFan in the background, whose compilation zone is the
 * agent's peak (VmHWM ~95 MiB) and whose code stays resident. Liftoff's code is fast enough for a
 * few small responses a minute. No optimising JS tiers either: nothing here runs hot enough to
 * pay for them. Set before anything is compiled (the flags only affect code compiled afterwards);
 * CLOCKWATCH_V8_DEFAULTS=0 leaves V8 alone.
 */
const LEAN_V8_FLAGS = ['--liftoff-only', '--wasm-lazy-compilation', '--no-opt', '--no-maglev'];

async function main(): Promise<number> {
  if (process.env.CLOCKWATCH_V8_DEFAULTS !== '0') for (const f of LEAN_V8_FLAGS) setFlagsFromString(f);
  let config: AgentConfig;
  try {
    const loaded = loadConfig({ argv: process.argv.slice(2), env: process.env, platform: process.platform, readFile: (f) => readFileSync(f, 'utf8') });
    if (loaded.kind === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (loaded.kind === 'version') {
      process.stdout.write(`clockwatch-agent ${loaded.version}\n`);
      return 0;
    }
    config = loaded.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`clockwatch-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (config.listen && config.mode !== 'loop') return fail('--listen', 'serves only while the agent runs (not with --once or --print)');

  const log = createLogger((line) => process.stderr.write(line), config.logLevel);
  const run = config.replayDir
    ? createReplayRunner(config.replayDir)
    : createCommandRunner({
        path: process.env.PATH,
        defaultTimeoutMs: config.timeoutMs,
        // Windows programs need SystemRoot (Winsock and the registry API load through it).
        env: process.platform === 'win32' ? { SystemRoot: process.env.SystemRoot ?? 'C:\\Windows' } : undefined,
      });
  let agent: Agent;
  try {
    agent = await Agent.create({ config, run, env: process.env, log, isRoot: process.getuid?.() === 0, platform: process.platform });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail('--spool', `cannot use ${config.spoolDir}: ${e.code ?? e.message}`);
  }

  if (config.mode === 'print') {
    const report = await agent.print();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  if (config.mode === 'once') {
    const res = await agent.once();
    await agent.close();
    process.stdout.write(`${JSON.stringify(res.output, null, 2)}\n`);
    return res.exitCode;
  }

  const onSignal = (sig: string) => {
    log.info(`${sig}: finishing the cycle in flight`);
    agent.stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  let listener: Listener | null = null;
  if (config.listen) {
    try {
      listener = await startListener({
        host: config.listen.host,
        port: config.listen.port,
        collect: () => agent.buildReport({ probe: false, consumeEvents: false }),
        counters: () => ({ stepsTotal: agent.stepsTotal(), spawnsTotal: agent.spawnCount() }),
      });
    } catch (err) {
      return fail('--listen', `cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    log.info(`pull endpoint on http://${listener.address.address}:${listener.address.port}/v1/report and /metrics`);
  }
  log.info(`agent ${agent.agentId} reporting to ${config.collector} every ${config.intervalS} s (spool ${config.spoolDir})`);
  await agent.runLoop();
  await listener?.close();
  await agent.close();
  log.info('stopped');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`clockwatch-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
