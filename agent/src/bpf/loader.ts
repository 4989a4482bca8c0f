import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAP_NAMES, PROGRAMS } from "../../../sdk/abi/constants";
import type { Logger } from "../log";
import { ensureBpffs } from "./bpffs";
import { isNotFound, type NativeBpf } from "./native";

type ProgramKey = keyof typeof PROGRAMS;

/** One tc clsact hook of one interface and the program fos1 attaches there. */
export interface Attachment {
  readonly device: string;
  readonly hook: "ingress" | "egress";
  readonly program: ProgramKey;
}

export interface LoadedProgram {
  readonly name: string;
  readonly fd: number;
  readonly id: number;
  /** True when the pinned program of an earlier agent was kept rather than loaded anew. */
  readonly adopted: boolean;
}

export interface DataPlaneOptions {
  /** bpffs directory of the pinned maps (by name) and programs (under progs/). */
  readonly pinRoot: string;
  /** Directory of the compiled objects (bpf/build). */
  readonly objectsDir: string;
  /** Where the hashes of the loaded objects are remembered, to tell an upgrade from a restart. */
  readonly stateDir: string;
  readonly lan: readonly string[];
  readonly uplinks: readonly string[];
  readonly log: Logger;
}

/** Where bpf/README.md attaches each program: LAN ingress; uplink ingress and the egress classifier. */
export function attachmentsFor(lan: readonly string[], uplinks: readonly string[]): Attachment[] {
  return [
    ...lan.map((device): Attachment => ({ device, hook: "ingress", program: "ingressLan" })),
    ...uplinks.flatMap((device): Attachment[] => [
      { device, hook: "ingress", program: "ingressUplink" },
      { device, hook: "egress", program: "egressClassify" },
    ]),
  ];
}

const RECORD_FILE = "bpf-objects.json";

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/**
 * The loaded and attached eBPF data plane. Starting adopts what an earlier
 * agent left: programs pinned from the same objects, with every map pinned,
 * are kept, and filters already holding them are left alone, so a restart
 * never opens a window without enforcement. Objects that changed (an
 * upgrade) are loaded anew against the same pinned maps, and their filters
 * are replaced in place (tc's replace is atomic).
 */
export class DataPlane {
  private readonly missing = new Set<string>();

  private constructor(
    private readonly bpf: NativeBpf,
    readonly programs: Readonly<Record<ProgramKey, LoadedProgram>>,
    readonly attachments: readonly Attachment[],
    private readonly log: Logger,
  ) {}

  static start(bpf: NativeBpf, options: DataPlaneOptions): DataPlane {
    const { pinRoot, objectsDir, log } = options;
    const mounted = ensureBpffs(pinRoot);
    if (mounted) log.warn("mounted a bpffs for the pinned maps", { dir: mounted });
    mkdirSync(join(pinRoot, "progs"), { recursive: true, mode: 0o700 });

    const recordPath = join(options.stateDir, RECORD_FILE);
    const record = existsSync(recordPath)
      ? (JSON.parse(readFileSync(recordPath, "utf8")) as Record<string, string>)
      : {};
    const mapsPinned = Object.values(MAP_NAMES).every((m) => existsSync(join(pinRoot, m)));
    const loaded = {} as Record<ProgramKey, LoadedProgram>;
    const hashes: Record<string, string> = {};
    for (const [key, { name, object }] of Object.entries(PROGRAMS) as [
      ProgramKey,
      (typeof PROGRAMS)[ProgramKey],
    ][]) {
      const pin = join(pinRoot, "progs", name);
      hashes[object] = sha256(join(objectsDir, object));
      const pinned = openPinned(bpf, pin);
      if (pinned !== undefined && mapsPinned && record[object] === hashes[object]) {
        loaded[key] = { name, fd: pinned, id: bpf.progInfo(pinned).id, adopted: true };
        continue;
      }
      if (pinned !== undefined) bpf.close(pinned);
      bpf.loadObject(objectsDir, object, pinRoot, pin);
      const fd = bpf.objGet(pin);
      loaded[key] = { name, fd, id: bpf.progInfo(fd).id, adopted: false };
    }
    if (Object.values(loaded).some((p) => !p.adopted)) {
      mkdirSync(options.stateDir, { recursive: true });
      writeFileSync(`${recordPath}.tmp`, JSON.stringify(hashes, null, 2) + "\n");
      renameSync(`${recordPath}.tmp`, recordPath);
    }

    const plane = new DataPlane(bpf, loaded, attachmentsFor(options.lan, options.uplinks), log);
    const missing = plane.attachments.filter((a) => bpf.ifIndex(a.device) === 0).map((a) => a.device);
    if (missing.length > 0) {
      throw new Error(
        `cannot attach the eBPF programs: no interface ${[...new Set(missing)].join(", ")} on this node`,
      );
    }
    const attached = plane.attach();
    log.info("eBPF data plane ready", {
      pinRoot,
      programs: Object.values(loaded).map(({ name, id, adopted }) => ({ name, id, adopted })),
      attached: attached.map((a) => `${a.device}/${a.hook}`),
      adopted: plane.attachments.length - attached.length,
    });
    return plane;
  }

  /**
   * Re-attaches where a hook lost fos1's filter (someone deleted the clsact
   * qdisc) or holds another program. An interface that went away is logged
   * once and skipped: it cannot carry traffic to enforce on.
   */
  repair(): number {
    const attached = this.attach();
    for (const a of attached) this.log.warn("re-attached a detached eBPF program", { ...a });
    return attached.length;
  }

  private attach(): Attachment[] {
    const done: Attachment[] = [];
    for (const a of this.attachments) {
      const ifindex = this.bpf.ifIndex(a.device);
      if (ifindex === 0) {
        if (!this.missing.has(a.device))
          this.log.warn("interface gone; its programs are not attached", { device: a.device });
        this.missing.add(a.device);
        continue;
      }
      this.missing.delete(a.device);
      const program = this.programs[a.program];
      const egress = a.hook === "egress" ? 1 : 0;
      if (this.bpf.tcQuery(ifindex, egress) === program.id) continue;
      this.bpf.tcAttach(ifindex, egress, program.fd);
      done.push(a);
    }
    return done;
  }
}

function openPinned(bpf: NativeBpf, pin: string): number | undefined {
  try {
    return bpf.objGet(pin);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
