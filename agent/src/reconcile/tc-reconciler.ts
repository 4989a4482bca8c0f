import type { NodeProgram } from "../../../sdk/compile/node-program";
import type { CommandRunner } from "../kernel/command";
import { listClasses, listQdiscs, qdiscSupported, tcBatch, type TcQdisc } from "../kernel/tc";
import type { ProgramDrift, Reconciler } from "./reconciler";
import {
  buildCommands,
  changeCommands,
  compareDevice,
  desiredTc,
  isFos1Root,
  unownedDevices,
  type ActualTcDevice,
  type TcActual,
  type TcDesired,
} from "./tc-plan";

/** The leaf qdisc every NodeProgram asks for. */
const LEAF_QDISC = "fq_codel";

export interface TcReconcilerOptions {
  readonly runner: CommandRunner;
  /**
   * Leaf qdisc to use when the kernel has no fq_codel (CONFIG_NET_SCH_FQ_CODEL
   * off): HTB still shapes every class, only the per-flow fairness inside a
   * class is lost. `false` makes such a kernel an error instead.
   * @default "pfifo"
   */
  readonly leafQdiscFallback?: string | false;
}

/**
 * HTB trees per uplink device. Each device gets one `tc -batch -`: classes
 * whose parameters alone differ are changed in place (`tc class change`, no
 * queue is reset), and the tree is rebuilt only when its shape differs (root,
 * default class, class ids and parents, leaf qdiscs). Devices that no program
 * owns are left alone, except that a root qdisc fos1 created earlier is
 * removed. Every desired device must exist before anything is written.
 */
export class TcReconciler implements Reconciler<TcDesired, TcActual> {
  readonly subsystem = "tc" as const;
  private readonly runner: CommandRunner;
  private leafKind?: Promise<string>;

  constructor(private readonly options: TcReconcilerOptions) {
    this.runner = options.runner;
  }

  /** The leaf qdisc this kernel gets: fq_codel, or the fallback when the kernel lacks it (probed once). */
  leafQdisc(): Promise<string> {
    this.leafKind ??= qdiscSupported(this.runner, LEAF_QDISC).then((supported) => {
      if (supported) return LEAF_QDISC;
      const fallback = this.options.leafQdiscFallback ?? "pfifo";
      if (fallback === false)
        throw new Error(`this kernel has no ${LEAF_QDISC} qdisc, and no fallback is allowed`);
      return fallback;
    });
    return this.leafKind;
  }

  desired(programs: readonly NodeProgram[]): TcDesired {
    return desiredTc(programs);
  }

  /** The qdiscs, then the classes of every device fos1 shapes, listed side by side. */
  async read(): Promise<TcActual> {
    const [qdiscs, leafQdisc] = await Promise.all([listQdiscs(this.runner), this.leafQdisc()]);
    const byDevice = new Map<string, TcQdisc[]>();
    for (const q of qdiscs) byDevice.set(q.dev, [...(byDevice.get(q.dev) ?? []), q]);
    const devices = await Promise.all(
      [...byDevice].map(async ([device, list]): Promise<[string, ActualTcDevice]> => {
        const root = list.find((q) => q.root);
        const ours = isFos1Root(root);
        const classes = ours ? await listClasses(this.runner, device) : [];
        const children = list.filter((q) => !q.root && q.parent !== undefined);
        return [device, { device, root, ours, classes, children }];
      }),
    );
    return { leafQdisc, devices: new Map(devices) };
  }

  diff(desired: TcDesired, actual: TcActual): ProgramDrift[] {
    return desired.devices.flatMap((d) => compareDevice(d, actual).drift);
  }

  async apply(desired: TcDesired, read?: TcActual): Promise<number> {
    const actual = read ?? (await this.read());
    const missing = desired.devices.filter((d) => !actual.devices.has(d.spec.device));
    if (missing.length > 0) {
      throw new Error(
        missing
          .map((d) => `${d.program}: spec.tc[${d.index}].device: no device "${d.spec.device}" on this node`)
          .join("; "),
      );
    }
    let writes = 0;
    for (const d of desired.devices) {
      const current = actual.devices.get(d.spec.device);
      const { reshape, changed } = compareDevice(d, actual);
      if (reshape) {
        const lines = buildCommands(d.spec, current, actual.leafQdisc);
        await this.rebuild(d.spec.device, lines);
        writes += lines.length;
      } else if (changed.length > 0) {
        const lines = changeCommands(d.spec, changed);
        await tcBatch(this.runner, lines);
        writes += lines.length;
      }
    }
    for (const device of unownedDevices(desired, actual)) {
      await tcBatch(this.runner, [`qdisc del dev ${device} root`]);
      writes += 1;
    }
    return writes;
  }

  /**
   * A rebuild that fails part-way leaves no half tree shaping traffic: a root
   * of ours is removed (the engine then re-applies the previous state); the
   * error that stopped the build is the one reported.
   */
  private async rebuild(device: string, lines: readonly string[]): Promise<void> {
    try {
      await tcBatch(this.runner, lines);
    } catch (error) {
      const root = (await listQdiscs(this.runner)).find((q) => q.dev === device && q.root);
      if (isFos1Root(root)) {
        await tcBatch(this.runner, [`qdisc del dev ${device} root`]);
      }
      throw error;
    }
  }
}
