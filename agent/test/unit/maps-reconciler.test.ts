import { LAYOUTS } from "@fos1/dpi/sdk/abi/layout";
import type { MapsActual, MapsWrites, PolicyMapName } from "@fos1/dpi/agent/src/bpf/maps-plan";
import type { PolicyMapStore } from "@fos1/dpi/agent/src/bpf/policy-map-store";
import { MapsReconciler } from "@fos1/dpi/agent/src/reconcile/maps-reconciler";
import { goldenProgram, rehash } from "./fixtures/programs";

/** Policy maps in memory, applying writes as the pinned maps would and counting each entry written. */
class MemoryMaps implements PolicyMapStore {
  readonly maps = new Map<PolicyMapName, Map<string, string>>();
  config = Buffer.alloc(LAYOUTS.config.size);
  entriesWritten = 0;

  read(): MapsActual {
    return {
      maps: new Map([...this.maps].map(([n, m]) => [n, new Map(m)])),
      config: Buffer.from(this.config),
    };
  }

  write(writes: MapsWrites): void {
    for (const { map, upsertKeys, upsertValues, deletes } of writes.maps) {
      const m = this.maps.get(map.name) ?? new Map<string, string>();
      upsertKeys.forEach((k, i) => m.set(k, upsertValues[i]!));
      for (const d of deletes) m.delete(d);
      this.maps.set(map.name, m);
      this.entriesWritten += upsertKeys.length + deletes.length;
    }
    if (writes.config) {
      const { patch, mask } = writes.config;
      this.config = Buffer.from(this.config.map((b, i) => (b & ~mask[i]!) | patch[i]!));
      this.entriesWritten++;
    }
  }
}

const programs = ["qos-default-qos-policy", "routing-application-routing", "fastpath-branch-fast-path"].map(
  goldenProgram,
);

describe("MapsReconciler", () => {
  it("writes every entry once, then nothing; re-attaching detached programs counts as writes", async () => {
    const store = new MemoryMaps();
    let detached = 0;
    const reconciler = new MapsReconciler({
      store,
      ifindex: () => 0,
      attachments: { repair: () => detached },
    });
    const desired = reconciler.desired(programs);
    const first = await reconciler.apply(desired);
    expect(first).toBe(store.entriesWritten);
    expect(first).toBe(4 + 18 + 13 + 2 + 1 + 2 + 1);
    expect(await reconciler.apply(desired)).toBe(0);
    expect(store.entriesWritten).toBe(first);
    expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
    detached = 2;
    expect(await reconciler.apply(desired)).toBe(2);
  });

  it("repairs an entry changed out of band with one write, reported as drift before", async () => {
    const store = new MemoryMaps();
    const reconciler = new MapsReconciler({ store, ifindex: () => 0 });
    const desired = reconciler.desired(programs);
    await reconciler.apply(desired);
    store.maps.get("fos1_qos_classes")!.clear();
    const drift = reconciler.diff(desired, await reconciler.read());
    expect(drift).toHaveLength(4);
    expect(new Set(drift.map((d) => d.program))).toEqual(new Set(["qos-default-qos-policy"]));
    const before = store.entriesWritten;
    expect(await reconciler.apply(desired)).toBe(4);
    expect(store.entriesWritten - before).toBe(4);
  });

  it("merges the policy maps of an unchanged set of programs once; fos1_config follows the interfaces", () => {
    let mirror = 7;
    const reconciler = new MapsReconciler({ store: new MemoryMaps(), ifindex: () => mirror });
    const sensor = goldenProgram("sensor-branch-sensors");
    const first = reconciler.desired([...programs, sensor]);
    mirror = 9;
    const again = reconciler.desired([...programs, sensor]);
    expect(again.maps).toBe(first.maps);
    expect(again.config.get("mirror_ifindex")?.value).toBe(9);

    // The same programs as new objects (a PUT of an unchanged program) are the same programs.
    expect(reconciler.desired(structuredClone([...programs, sensor])).maps).toBe(first.maps);
    // A program replaced by an edited one, in place or as a new object, is merged again.
    const edited = rehash(programs[0]!, (p) => (p.spec.maps.fos1_qos_classes![0]!.value.dscp = 10));
    const changed = reconciler.desired([edited, ...programs.slice(1), sensor]);
    expect(changed.maps).not.toBe(first.maps);
    const dscps = [...changed.maps.get("fos1_qos_classes")!.values()].map((e) => e.values.dscp);
    expect(dscps).toContain(10);
    const inPlace = [edited, ...programs.slice(1), sensor];
    Object.assign(
      edited,
      rehash(edited, (p) => (p.spec.maps.fos1_qos_classes![0]!.value.dscp = 12)),
    );
    const dscpsAfter = [...reconciler.desired(inPlace).maps.get("fos1_qos_classes")!.values()].map(
      (e) => e.values.dscp,
    );
    expect(dscpsAfter).toContain(12);
    expect(reconciler.desired(programs).maps.get("fos1_app_policy")!.size).toBe(18);
  });
});
