/**
 * A CLI subcommand. The CLI dispatches through the table in commands/index.ts; later commands
 * (export, status, verify) are one more file and one more row.
 */
export interface CommandIO {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Registers a handler for SIGINT/SIGTERM/SIGHUP (only the CLI touches `process`). */
  onSignal: (handler: (signal: string) => void) => void;
  /** Whether stdout / stderr are terminals (colours, progress lines); absent: neither is. */
  isTTY?: { stdout: boolean; stderr: boolean };
  /** Columns of the terminal stdout is (process.stdout.columns); absent when it is not one. */
  columns?: number;
}

export interface Command {
  name: string;
  summary: string;
  /** Resolves with the exit code. ConfigError → one line on stderr and exit 2 (done by the CLI). */
  run(io: CommandIO): Promise<number>;
}
