import type { Drift } from "../../../sdk/agent-api";
import type { NodeProgram } from "../../../sdk/compile";

/** Kernel subsystems the agent programs, in the order a PUT applies them. */
export type Subsystem = "maps" | "nftables" | "tc" | "ip";

/**
 * One kernel subsystem, after cilium's bandwidth manager: a pure function from
 * the node's programs to the state the subsystem must hold, a reader of what
 * it holds now (only what fos1-dpi owns), and an idempotent apply.
 *
 * Ownership is by program: `desired` is computed from ALL programs on the
 * node, so applying a set without program P removes exactly what P owned.
 */
export interface Reconciler<Desired = unknown, Actual = unknown> {
  readonly subsystem: Subsystem;
  /** Pure: the state the subsystem must hold for these programs. Throws a ConflictError when two programs claim the same thing. */
  desired(programs: readonly NodeProgram[]): Desired;
  /** What the kernel holds now, of what fos1-dpi owns. */
  read(): Promise<Actual>;
  /** Pure: where `actual` differs from `desired`, attributed to the owning program's paths. */
  diff(desired: Desired, actual: Actual): ProgramDrift[];
  /**
   * Makes the kernel hold `desired`. Compares with `actual` (what `read`
   * returned just before; read now when absent) and returns 0 without writing
   * when it already does; otherwise writes only what differs, as atomically as
   * the subsystem allows (one `nft -f` transaction, one `tc -batch`, staged
   * map updates). Returns the number of kernel writes made.
   */
  apply(desired: Desired, actual?: Actual): Promise<number>;
}

/** Drift attributed to the program that owns the drifted state. */
export interface ProgramDrift extends Drift {
  readonly program: string;
}

/** Two programs claim the same kernel object (an uplink's qdisc, a map key's field, an ip rule). */
export class ConflictError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "ConflictError";
  }
}
