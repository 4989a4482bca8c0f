import type { NodeProgram } from "../../../sdk/compile/node-program";
import { desiredConfig } from "../bpf/config-settings";
import {
  desiredPolicyMaps,
  diffMaps,
  planWrites,
  type DesiredMap,
  type DesiredPolicyMaps,
  type MapsActual,
  type MapsDesired,
  type PolicyMapName,
} from "../bpf/maps-plan";
import type { MapDump } from "../bpf/native";
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
  /** The policy maps last applied, and which programs (name and hash) they were merged from. */
  private last?: { readonly programs: readonly string[]; readonly maps: DesiredPolicyMaps };
  /** Which programs each merged state was merged from, until it is applied (or dropped). */
  private readonly mergedFrom = new WeakMap<DesiredPolicyMaps, readonly string[]>();
  /** Per map, the last dump seen holding its desired entries, and those entries. */
  private readonly verified = new Map<
    PolicyMapName,
    { readonly want?: DesiredMap; readonly dump: MapDump }
  >();

  constructor(private readonly options: MapsReconcilerOptions) {}

  /**
   * The policy maps are merged once per set of programs applied: the
   * reconcile loop asks for the same stored programs every pass, and a PUT of
   * an unchanged program for the same again (100k entries take a tenth of a
   * second). A program is known by its name and hash, which the engine has
   * checked against its content. A merge is reused only once applied, so the
   * cache never rests on a merge of programs that did not reach the kernel.
   * fos1_config, whose ifindexes follow the interfaces, is merged every time.
   */
  desired(programs: readonly NodeProgram[]): MapsDesired {
    const ids = programs.map((p) => `${p.metadata.name} ${p.hash}`);
    const last = this.last;
    const same =
      last !== undefined &&
      last.programs.length === ids.length &&
      ids.every((id, i) => id === last.programs[i]);
    const maps = same ? last.maps : desiredPolicyMaps(programs);
    if (!same) this.mergedFrom.set(maps, ids);
    return { maps, config: desiredConfig(programs, this.options.ifindex) };
  }

  async read(): Promise<MapsActual> {
    return this.options.store.read();
  }

  diff(desired: MapsDesired, actual: MapsActual): ProgramDrift[] {
    return diffMaps(desired, actual);
  }

  /**
   * Entries written or deleted (a batch counts each entry), plus fos1_config
   * and re-attached programs. Every map is read back each time; a map whose
   * dump is byte for byte the one last seen holding the same desired
   * entries holds them still, and is not compared entry by entry again.
   */
  async apply(desired: MapsDesired, read?: MapsActual): Promise<number> {
    const reattached = this.options.attachments?.repair() ?? 0;
    const actual = read ?? this.options.store.read();
    const unchanged = new Set<PolicyMapName>();
    for (const [name, dump] of actual.maps) {
      const seen = this.verified.get(name);
      if (seen && seen.want === desired.maps.get(name) && sameDump(seen.dump, dump)) unchanged.add(name);
    }
    const writes = planWrites(desired, actual, unchanged);
    if (writes.count > 0) this.options.store.write(writes);
    const programs = this.mergedFrom.get(desired.maps);
    if (programs) this.last = { programs, maps: desired.maps };
    const written = new Set(writes.maps.map((m) => m.map.name));
    for (const [name, dump] of actual.maps) {
      if (written.has(name)) this.verified.delete(name);
      else this.verified.set(name, { want: desired.maps.get(name), dump });
    }
    return reattached + writes.count;
  }
}

const sameDump = (a: MapDump, b: MapDump): boolean =>
  a.count === b.count && a.keys.equals(b.keys) && a.values.equals(b.values);
