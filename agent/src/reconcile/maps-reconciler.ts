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
  /** The policy maps of the last set of programs asked for, and which programs (name and hash) they were. */
  private last?: { readonly programs: readonly string[]; readonly maps: DesiredPolicyMaps };

  constructor(private readonly options: MapsReconcilerOptions) {}

  /**
   * The policy maps are merged once per set of programs: the reconcile loop
   * asks for the same stored programs every pass, and a PUT of an unchanged
   * program for the same again (100k entries take a tenth of a second). A
   * program is known by its name and hash, which the engine has checked
   * against its content before any program reaches a reconciler. fos1_config,
   * whose ifindexes follow the interfaces, is merged every time.
   */
  desired(programs: readonly NodeProgram[]): MapsDesired {
    const ids = programs.map((p) => `${p.metadata.name} ${p.hash}`);
    const last = this.last;
    const same =
      last !== undefined &&
      last.programs.length === ids.length &&
      ids.every((id, i) => id === last.programs[i]);
    const maps = same ? last.maps : desiredPolicyMaps(programs);
    if (!same) this.last = { programs: ids, maps };
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
