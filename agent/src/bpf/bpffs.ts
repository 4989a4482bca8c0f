import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statfsSync } from "node:fs";
import { dirname } from "node:path";

/** statfs f_type of bpffs (BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

export function onBpffs(path: string): boolean {
  return statfsSync(path).type === BPF_FS_MAGIC;
}

/**
 * Makes `pinRoot` a directory on a bpffs. When the nearest existing directory
 * on its path is not on one (a node without /sys/fs/bpf mounted, or a
 * container's fresh /sys), a bpffs is mounted there first, as systemd does at
 * boot. Returns the directory it mounted, if any.
 */
export function ensureBpffs(pinRoot: string): string | undefined {
  let existing = pinRoot;
  while (!existsSync(existing)) existing = dirname(existing);
  let mounted: string | undefined;
  if (!onBpffs(existing)) {
    execFileSync("mount", ["-t", "bpf", "bpf", existing], { stdio: ["ignore", "ignore", "pipe"] });
    mounted = existing;
  }
  mkdirSync(pinRoot, { recursive: true, mode: 0o700 });
  return mounted;
}
