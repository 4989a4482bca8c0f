import type { NodeProgram } from "../../../sdk/compile/node-program";
import { desiredMaps, diffMaps, planWrites, type MapsActual, type MapsDesired } from "../bpf/maps-plan";
import type { PolicyMapStore } from "../bpf/policy-map-store";
import type { ProgramDrift, Reconciler } from "./reconciler";

export interface MapsReconcilerOptions {
  readonly store: PolicyMapStore;
  /** Interface name -> ifindex in the agent's namespace, 0 when absent. */
  readonly ifindex: (name: string) => number;
  /** Re-attaches programs someone detached; returns how many it re-attached. */
  readonly attachments?: { repair(): number };
}

/**
 * The eBPF policy maps (classes, application policy, routes, prefix sets)
 * and the program-owned members of fos1_config. Runtime maps (flows, blocks,
 * the destination cache, counters) are the agent's own state and are neither
 * read nor repaired here.
 */
export class MapsReconciler implements Reconciler<MapsDesired, MapsActual> {
  readonly subsystem = "maps" as const;

  constructor(private readonly options: MapsReconcilerOptions) {}

  desired(programs: readonly NodeProgram[]): MapsDesired {
    return desiredMaps(programs, this.options.ifindex);
  }

  async read(): Promise<MapsActual> {
    return this.options.store.read();
  }

  diff(desired: MapsDesired, actual: MapsActual): ProgramDrift[] {
    return diffMaps(desired, actual);
  }

  /** Entries written or deleted (a batch counts each entry), plus fos1_config and re-attached programs. */
  async apply(desired: MapsDesired): Promise<number> {
    const reattached = this.options.attachments?.repair() ?? 0;
    const writes = planWrites(desired, this.options.store.read());
    if (writes.count > 0) this.options.store.write(writes);
    return reattached + writes.count;
  }
}
