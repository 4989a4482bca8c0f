import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROGRAMS } from "@fos1/dpi/sdk/abi";
import type { NativeBpf } from "@fos1/dpi/agent/src/bpf/native";
import { OBJECTS_DIR } from "./maps-lab";

/**
 * A bpffs of its own under a temporary directory, with every data-plane object
 * loaded and its maps pinned under `pinRoot` (nothing attached: no traffic is
 * involved). `remove` unmounts it and deletes the directory.
 */
export class PrivateBpffs {
  private readonly dir: string;
  readonly pinRoot: string;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.pinRoot = join(this.dir, "bpffs", "fos1");
  }

  load(bpf: NativeBpf): void {
    mkdirSync(join(this.dir, "bpffs"));
    execFileSync("mount", ["-t", "bpf", "bpf", join(this.dir, "bpffs")]);
    mkdirSync(join(this.pinRoot, "progs"), { recursive: true });
    for (const p of Object.values(PROGRAMS))
      bpf.loadObject(OBJECTS_DIR, p.object, this.pinRoot, join(this.pinRoot, "progs", p.name));
  }

  remove(): void {
    execFileSync("umount", [join(this.dir, "bpffs")]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
