import { LAYOUTS } from "@fos1/dpi/sdk/abi/layout";
import * as mapsPlan from "@fos1/dpi/agent/src/bpf/maps-plan";
import type { DesiredMap, MapsActual, MapsWrites, PolicyMapName } from "@fos1/dpi/agent/src/bpf/maps-plan";
import type { PolicyMapStore } from "@fos1/dpi/agent/src/bpf/policy-map-store";
import { MapsReconciler } from "@fos1/dpi/agent/src/reconcile/maps-reconciler";
import { goldenProgram, rehash } from "./fixtures/programs";

/** Policy maps in memory, applying writes as the pinned maps would and counting each entry written. */
class MemoryMaps implements PolicyMapStore {
  readonly maps = new Map<PolicyMapName, Map<string, string>>();
  config = Buffer.alloc(LAYOUTS.config.size);
  entriesWritten = 0;

  read(): MapsActual {
    const bytes = (parts: Iterable<string>) => Buffer.from([...parts].join(""), "latin1");
    return {
      maps: new Map(
        [...this.maps].map(([n, m]) => [
          n,
          { keys: bytes(m.keys()), values: bytes(m.values()), count: m.size },
        ]),
      ),
      config: Buffer.from(this.config),
    };
  }

  write(writes: MapsWrites): void {
    const entry = (bytes: Buffer, count: number, i: number) =>
      bytes.toString("latin1", (i * bytes.length) / count, ((i + 1) * bytes.length) / count);
    for (const { map, upsertKeys, upsertValues, upserts, deleteKeys, deletes } of writes.maps) {
      const m = this.maps.get(map.name) ?? new Map<string, string>();
      for (let i = 0; i < upserts; i++) m.set(entry(upsertKeys, upserts, i), entry(upsertValues, upserts, i));
      for (let i = 0; i < deletes; i++) m.delete(entry(deleteKeys, deletes, i));
      this.maps.set(map.name, m);
      this.entriesWritten += upserts + deletes;
    }
    if (writes.config) {
      const { patch, mask } = writes.config;
      this.config = Buffer.from(this.config.map((b, i) => (b & ~mask[i]!) | patch[i]!));
      this.entriesWritten++;
    }
  }
}

const entries = (map: DesiredMap) => Array.from({ length: map.size }, (_, slot) => map.entry(slot));

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

  it("compares a map entry by entry only when its dump changed since it last held the same desired entries", async () => {
    const store = new MemoryMaps();
    const reconciler = new MapsReconciler({ store, ifindex: () => 0 });
    const desired = reconciler.desired(programs);
    await reconciler.apply(desired);
    const plan = jest.spyOn(mapsPlan, "planWrites");
    // The first read after writing is compared in full; from then on the same dumps are known.
    expect(await reconciler.apply(desired)).toBe(0);
    expect(await reconciler.apply(desired)).toBe(0);
    expect([...plan.mock.calls[1]![2]!].sort()).toEqual([...store.maps.keys()].sort());

    // One value changed in place (same keys, same order, same count) is found and repaired.
    const classes = store.maps.get("fos1_qos_classes")!;
    const [key, value] = [...classes][0]!;
    classes.set(key, String.fromCharCode(value.charCodeAt(0) ^ 1) + value.slice(1));
    expect(await reconciler.apply(desired)).toBe(1);
    expect(plan.mock.calls[2]![2]!.has("fos1_qos_classes")).toBe(false);

    // The same entries dumped in another order are compared, and need nothing.
    const policy = store.maps.get("fos1_app_policy")!;
    const reversed = [...policy].reverse();
    policy.clear();
    for (const [k, v] of reversed) policy.set(k, v);
    expect(await reconciler.apply(desired)).toBe(0);
    expect(plan.mock.calls[3]![2]!.has("fos1_app_policy")).toBe(false);
    plan.mockRestore();
  });

  it("merges the policy maps of an applied set of programs once; fos1_config follows the interfaces", async () => {
    let mirror = 7;
    const reconciler = new MapsReconciler({ store: new MemoryMaps(), ifindex: () => mirror });
    const sensor = goldenProgram("sensor-branch-sensors");
    const first = reconciler.desired([...programs, sensor]);
    await reconciler.apply(first);
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
    await reconciler.apply(changed);
    expect(entries(changed.maps.get("fos1_qos_classes")!).map((e) => e.values.dscp)).toContain(10);
    const inPlace = [edited, ...programs.slice(1), sensor];
    Object.assign(
      edited,
      rehash(edited, (p) => (p.spec.maps.fos1_qos_classes![0]!.value.dscp = 12)),
    );
    const dscpsAfter = entries(reconciler.desired(inPlace).maps.get("fos1_qos_classes")!).map(
      (e) => e.values.dscp,
    );
    expect(dscpsAfter).toContain(12);
    expect(reconciler.desired(programs).maps.get("fos1_app_policy")!.size).toBe(18);
  });

  it("does not reuse a merge that was never applied: a program claiming another's hash is merged from its content", async () => {
    const reconciler = new MapsReconciler({ store: new MemoryMaps(), ifindex: () => 0 });
    const real = programs[0]!;
    const forged = structuredClone(real);
    forged.spec.maps.fos1_qos_classes![0]!.value.dscp = 33;
    // A merge that never reaches the kernel (here: a body edited after hashing) is not kept.
    const refused = reconciler.desired([forged]);
    expect(entries(refused.maps.get("fos1_qos_classes")!).map((e) => e.values.dscp)).toContain(33);
    const applied = reconciler.desired([real]);
    expect(applied.maps).not.toBe(refused.maps);
    expect(entries(applied.maps.get("fos1_qos_classes")!).map((e) => e.values.dscp)).not.toContain(33);
  });
});
