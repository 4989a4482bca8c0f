import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

/**
 * Starts a program that outlives this command: its own process group (so
 * `lab down` ends it with everything it started), output to a log file, no
 * tie to this process. `ns` runs it inside a lab namespace.
 */
export function startDetached(
  command: string,
  args: readonly string[],
  options: { readonly ns?: string; readonly log: string; readonly cwd?: string },
): number {
  const fd = openSync(options.log, "a");
  try {
    const argv = options.ns ? ["netns", "exec", options.ns, command, ...args] : args;
    const child = spawn(options.ns ? "ip" : command, argv, {
      detached: true,
      stdio: ["ignore", fd, fd],
      cwd: options.cwd,
    });
    if (child.pid === undefined) throw new Error(`cannot start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The process's command line, or undefined when it is gone (a zombie counts as gone). */
function commandLine(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return undefined;
  }
}

/** Whether the lab's process still runs (a zombie does not). */
export function running(pid: number): boolean {
  return commandLine(pid) !== undefined;
}

/**
 * Ends a process group the lab started: SIGTERM, then SIGKILL after
 * `graceMs`. Resolves once the leader is gone; a group that is already gone
 * is not an error (down is idempotent). Only a leader whose command line
 * holds `marker` (the lab's state dir, in every command the lab starts) is
 * signalled, so a reused pid is never hit.
 */
export async function stopGroup(pid: number, marker: string, graceMs = 3000): Promise<void> {
  if (!commandLine(pid)?.includes(marker)) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is gone already.
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (commandLine(pid) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  signal("SIGKILL");
  while (commandLine(pid) !== undefined) await new Promise((r) => setTimeout(r, 20));
}
