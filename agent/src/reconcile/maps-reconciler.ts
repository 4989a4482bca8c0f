import type { NodeProgram } from "../../../sdk/compile/node-program";
import { desiredConfig } from "../bpf/config-settings";
import {
  desiredPolicyMaps,
  diffMaps,
  planWrites,
  type DesiredPolicyMaps,
  type MapsActual,
  type MapsDesired,
} from "../bpf/maps-plan";
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
  /** The policy maps of the last set of programs asked for, with the programs and their hashes then. */
  private last?: {
    readonly programs: readonly NodeProgram[];
    readonly hashes: readonly string[];
    readonly maps: DesiredPolicyMaps;
  };

  constructor(private readonly options: MapsReconcilerOptions) {}

  /**
   * The reconcile loop asks for the same stored programs every pass; their
   * policy maps (100k entries take a tenth of a second) are merged once, and
   * only fos1_config, whose ifindexes follow the interfaces, is redone.
   */
  desired(programs: readonly NodeProgram[]): MapsDesired {
    const last = this.last;
    const same =
      last !== undefined &&
      last.programs.length === programs.length &&
      programs.every((p, i) => p === last.programs[i] && p.hash === last.hashes[i]);
    const maps = same ? last.maps : desiredPolicyMaps(programs);
    if (!same) this.last = { programs: [...programs], hashes: programs.map((p) => p.hash), maps };
    return { maps, config: desiredConfig(programs, this.options.ifindex) };
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
