import { LAYOUTS } from "@fos1/dpi/sdk/abi/layout";
import type { MapsActual, MapsWrites, PolicyMapName } from "@fos1/dpi/agent/src/bpf/maps-plan";
import { keyId } from "@fos1/dpi/agent/src/bpf/maps-plan";
import type { PolicyMapStore } from "@fos1/dpi/agent/src/bpf/policy-map-store";
import { MapsReconciler } from "@fos1/dpi/agent/src/reconcile/maps-reconciler";
import { goldenProgram } from "./fixtures/programs";

/** Policy maps in memory, applying writes as the pinned maps would and counting each entry written. */
class MemoryMaps implements PolicyMapStore {
  readonly maps = new Map<PolicyMapName, Map<string, Buffer>>();
  config = Buffer.alloc(LAYOUTS.config.size);
  entriesWritten = 0;

  read(): MapsActual {
    return {
      maps: new Map([...this.maps].map(([n, m]) => [n, new Map(m)])),
      config: Buffer.from(this.config),
    };
  }

  write(writes: MapsWrites): void {
    for (const { map, upserts, deletes } of writes.maps) {
      const m = this.maps.get(map.name) ?? new Map<string, Buffer>();
      for (const u of upserts) m.set(keyId(u.key), Buffer.from(u.value));
      for (const d of deletes) m.delete(keyId(d));
      this.maps.set(map.name, m);
      this.entriesWritten += upserts.length + deletes.length;
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
});
