import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { destroyLabNetwork, labNamespaces } from "./network";
import { stopGroup } from "./processes";
import { readState } from "./state";

export interface DownResult {
  readonly namespaces: string[];
  readonly processes: number;
  readonly mounts: string[];
  readonly stateDir?: string;
}

/** Mount points at or below `dir` (the lab's private bpffs), deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Pids of processes living in one of the lab's namespaces. */
function pidsIn(ns: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Removes everything a lab with this prefix made: its process groups (agent
 * with its sensor, relay, captures, traffic), any process still inside its
 * namespaces, the namespaces (and with them interfaces, routes, tc, nft
 * tables and attached programs), its bpffs mount (and with it every pinned
 * map) and its state dir. Idempotent: what is already gone is skipped.
 */
export async function labDown(prefix: string, dir: string): Promise<DownResult> {
  let state;
  try {
    state = readState(dir);
  } catch {
    state = undefined;
  }
  let processes = 0;
  for (const p of [...(state?.processes ?? [])].reverse()) {
    await stopGroup(p.pid, dir);
    processes += 1;
  }
  for (const ns of labNamespaces(prefix)) {
    for (const pid of pidsIn(ns)) {
      try {
        process.kill(pid, "SIGKILL");
        processes += 1;
      } catch {
        // Exited meanwhile.
      }
    }
  }
  const namespaces = destroyLabNetwork(prefix);
  const mounts = existsSync(dir) ? mountsUnder(dir) : [];
  for (const m of mounts) execFileSync("umount", [m]);
  const hadDir = existsSync(dir);
  rmSync(dir, { recursive: true, force: true });
  return { namespaces, processes, mounts, ...(hadDir ? { stateDir: dir } : {}) };
}
