import { execFile } from "node:child_process";

/** One invocation of a kernel tool: never through a shell, so no argument is ever interpreted twice. */
export interface Command {
  readonly file: "nft" | "tc" | "ip" | "unshare";
  readonly args: readonly string[];
  /** Written to the tool's stdin (`nft -f -`, `tc -batch -`, `ip -batch -`). */
  readonly input?: string;
  /** True when the command changes kernel state; reads are never counted as writes. */
  readonly writes: boolean;
}

/** Runs kernel tools; the agent uses `execRunner()`, tests wrap it to run in a namespace and to count. */
export interface CommandRunner {
  run(command: Command): Promise<string>;
}

/** A tool exited non-zero: the command line and what it printed, so the operator sees the kernel's reason. */
export class CommandError extends Error {
  constructor(
    readonly command: Command,
    readonly exitCode: number | string | null,
    readonly stderr: string,
  ) {
    super(
      `${[command.file, ...command.args].join(" ")} failed (${exitCode}): ${stderr.trim() || "no message"}`,
    );
    this.name = "CommandError";
  }
}

export interface ExecRunnerOptions {
  /** Run every command inside this named network namespace (`ip netns exec`). @default the agent's own */
  readonly netns?: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

const MAX_OUTPUT = 256 * 1024 * 1024;

/** Runs commands with execFile. A namespace is entered per command, so one agent process can serve a lab namespace. */
export function execRunner(options: ExecRunnerOptions = {}): CommandRunner {
  return {
    run(command) {
      const [file, args] = options.netns
        ? ["ip", ["netns", "exec", options.netns, command.file, ...command.args]]
        : [command.file, [...command.args]];
      return new Promise((resolve, reject) => {
        const child = execFile(
          file,
          args,
          { encoding: "utf8", maxBuffer: MAX_OUTPUT, timeout: options.timeoutMs ?? 30_000 },
          (error, stdout, stderr) => {
            if (error) reject(new CommandError(command, error.code ?? error.signal ?? null, stderr));
            else resolve(stdout);
          },
        );
        // A tool that exits without reading its input closes the pipe; its exit status says what went wrong.
        child.stdin?.on("error", () => undefined);
        if (command.input === undefined) child.stdin?.end();
        else child.stdin?.end(command.input);
      });
    },
  };
}

/** Calls `observe` before each command runs: the hook for structured logs and for tests that count writes. */
export function observedRunner(inner: CommandRunner, observe: (command: Command) => void): CommandRunner {
  return {
    run(command) {
      observe(command);
      return inner.run(command);
    },
  };
}
