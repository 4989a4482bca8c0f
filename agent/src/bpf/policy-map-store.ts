import { LAYOUTS } from "../../../sdk/abi/layout";
import { MAP_NAMES } from "../../../sdk/abi/constants";
import type { MapsActual, MapsWrites, PolicyMapName } from "./maps-plan";
import type { NativeBpf } from "./native";
import { PinnedMap } from "./pinned-map";
import { POLICY_MAPS } from "./policy-maps";

/** Where the maps reconciler reads and writes; the pinned maps, or a fake in unit tests. */
export interface PolicyMapStore {
  read(): MapsActual;
  write(writes: MapsWrites): void;
}

const CONFIG_KEY = Buffer.alloc(4);
const POLICY_GENERATION = LAYOUTS.config.fields.find((f) => f.c === "policy_generation")!.offset;

/** Flows keep a copy of what they read from these; a write to either must bump policy_generation. */
const COPIED: ReadonlySet<string> = new Set([MAP_NAMES.appPolicy, MAP_NAMES.qosClasses]);

/** The policy maps and fos1_config as pinned under the pin root, each opened once. */
export class PinnedPolicyMaps implements PolicyMapStore {
  private constructor(
    private readonly bpf: NativeBpf,
    private readonly maps: ReadonlyMap<PolicyMapName, PinnedMap>,
    private readonly config: PinnedMap,
  ) {}

  static open(bpf: NativeBpf, pinRoot: string): PinnedPolicyMaps {
    const maps = new Map(
      POLICY_MAPS.map((m) => [
        m.name,
        PinnedMap.open(bpf, pinRoot, m.name, { key: m.key.size, value: m.value.size }),
      ]),
    );
    const config = PinnedMap.open(bpf, pinRoot, MAP_NAMES.config, { key: 4, value: LAYOUTS.config.size });
    return new PinnedPolicyMaps(bpf, maps, config);
  }

  read(): MapsActual {
    return {
      maps: new Map([...this.maps].map(([name, map]) => [name, map.dump()])),
      config: this.config.lookup(CONFIG_KEY)!,
    };
  }

  /**
   * Upserts stage by stage of POLICY_MAPS (classes before what names them),
   * the maps of a stage at once on the CPUs (each LPM trie takes a syscall
   * per entry), then deletes map by map in reverse order, then fos1_config's
   * program-owned members. A change to the application policy or the classes
   * then increments policy_generation, so flows drop their copies
   * (bpf/README.md, rule "Policy").
   */
  write(writes: MapsWrites): void {
    for (const stage of [0, 1, 2]) {
      PinnedMap.upsertBatches(
        this.bpf,
        writes.maps
          .filter((w) => w.map.stage === stage)
          .map((w) => ({
            map: this.maps.get(w.map.name)!,
            keys: w.upsertKeys,
            values: w.upsertValues,
            count: w.upserts,
          })),
      );
    }
    for (const { map, deleteKeys, deletes } of [...writes.maps].reverse()) {
      this.maps.get(map.name)!.deleteBatch(deleteKeys, deletes);
    }
    if (writes.config) this.config.patch(CONFIG_KEY, writes.config.patch, 1, writes.config.mask);
    if (writes.maps.some((m) => COPIED.has(m.map.name))) this.bumpPolicyGeneration();
  }

  /** fos1_config is written only by this process, in synchronous calls: the increment cannot be lost. */
  private bumpPolicyGeneration(): void {
    const value = this.config.lookup(CONFIG_KEY)!;
    value.writeUInt32LE((value.readUInt32LE(POLICY_GENERATION) + 1) >>> 0, POLICY_GENERATION);
    this.config.upsertBatch(CONFIG_KEY, value, 1);
  }
}
