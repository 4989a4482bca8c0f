import {
  decode,
  encode,
  encodeU32,
  flowKeyOf,
  lpmPrefix,
  CFG_INSPECT_ALL,
  CFG_OFFLOAD_ENABLED,
} from "@fos1/dpi/sdk/abi";
import { LAYOUTS } from "@fos1/dpi/sdk/abi/layout";
import type { NodeProgram } from "@fos1/dpi/sdk/compile";
import {
  byteString,
  desiredMaps,
  diffMaps,
  planWrites,
  type DesiredMap,
  type MapsActual,
  type MapWrites,
  type PolicyMapName,
} from "@fos1/dpi/agent/src/bpf/maps-plan";
import { POLICY_MAPS } from "@fos1/dpi/agent/src/bpf/policy-maps";
import { readSealedBody } from "@fos1/dpi/agent/src/api/sealed-body";
import { encodedMapsOf } from "@fos1/dpi/agent/src/bpf/encoded-maps";
import { sealProgram } from "@fos1/dpi/sdk/compile";
import { ConflictError } from "@fos1/dpi/agent/src/reconcile/reconciler";
import fc from "fast-check";
import { goldenProgram, program, rehash } from "./fixtures/programs";

const qos = goldenProgram("qos-default-qos-policy");
const routing = goldenProgram("routing-application-routing");
const fastPath = goldenProgram("fastpath-branch-fast-path");
const sensor = goldenProgram("sensor-branch-sensors");
const golden = [fastPath, qos, routing, sensor];
const ifindex = (name: string) => (name === "fos1-mirror" ? 7 : 0);

const appKey = (id: number) => byteString(encodeU32(id));
const bytes = (s: string) => Buffer.from(s, "latin1");
/** The desired entry of a key (`byteString`). */
const entryOf = (map: DesiredMap, key: string) => map.entry(map.slotOf(bytes(key), 0));

/** `count` entries of `size` bytes, back to back, as byte strings. */
const split = (bytes: Buffer, count: number): string[] =>
  Array.from({ length: count }, (_, i) =>
    byteString(bytes.subarray((i * bytes.length) / count, ((i + 1) * bytes.length) / count)),
  );
const upserted = (m: MapWrites) => split(m.upsertKeys, m.upserts);
const upsertedValues = (m: MapWrites) => split(m.upsertValues, m.upserts);
const deleted = (m: MapWrites) => split(m.deleteKeys, m.deletes);

/** Policy maps as value bytes by key bytes, easy to change out of band, and fos1_config. */
interface Kernel {
  readonly maps: Map<PolicyMapName, Map<string, string>>;
  readonly config: Buffer;
}

/** The kernel's maps as their dumps. */
const dumped = (kernel: Kernel): MapsActual => ({
  maps: new Map(
    [...kernel.maps].map(([name, m]) => [
      name,
      { keys: bytes([...m.keys()].join("")), values: bytes([...m.values()].join("")), count: m.size },
    ]),
  ),
  config: kernel.config,
});

/** The kernel as it is after the writes of a plan, starting from empty maps and a zero fos1_config. */
function applied(programs: readonly NodeProgram[]): Kernel {
  const desired = desiredMaps(programs, ifindex);
  const empty: MapsActual = { maps: new Map(), config: Buffer.alloc(LAYOUTS.config.size) };
  const writes = planWrites(desired, empty);
  const maps = new Map(
    writes.maps.map((m) => {
      const values = upsertedValues(m);
      return [m.map.name, new Map(upserted(m).map((k, i) => [k, values[i]!]))];
    }),
  );
  const config = Buffer.from(empty.config);
  for (let i = 0; i < config.length; i++)
    config[i] = (config[i]! & ~writes.config!.mask[i]!) | writes.config!.patch[i]!;
  return { maps, config };
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("maps desired state from the golden programs", () => {
  const desired = desiredMaps(golden, ifindex);

  it("merges QoS's class_id and the fast path's flags of one application into one entry", () => {
    const dropbox = entryOf(desired.maps.get("fos1_app_policy")!, appKey(9));
    expect(dropbox.values).toEqual({ class_id: 19, flags: 1 });
    expect(dropbox.owners.class_id!.program).toBe(qos.metadata.name);
    expect(dropbox.owners.flags!.program).toBe(fastPath.metadata.name);
    const zoomOnlyQos = entryOf(desired.maps.get("fos1_app_policy")!, appKey(7));
    expect(zoomOnlyQos.declaredBy.map((d) => d.program)).toEqual([fastPath.metadata.name]);
    // 13 QoS apps + 9 fast-path apps, 4 of them shared.
    expect(desired.maps.get("fos1_app_policy")!.size).toBe(18);
  });

  it("encodes every key and value as sdk/abi does", () => {
    const writes = planWrites(desired, { maps: new Map(), config: Buffer.alloc(LAYOUTS.config.size) });
    const classes = upsertedValues(writes.maps.find((m) => m.map.name === "fos1_qos_classes")!);
    expect(classes.map((c) => decode("qosClass", bytes(c)))).toContainEqual({
      skbPriority: 0x10011,
      dscp: 46,
    });
    const segments = upserted(writes.maps.find((m) => m.map.name === "fos1_segments")!);
    expect(segments).toContainEqual(byteString(encode("lpmKey", lpmPrefix("10.10.200.0/24"))));
    const routes = upserted(writes.maps.find((m) => m.map.name === "fos1_route_policy")!);
    expect(routes).toContainEqual(byteString(encode("routeKey", { segmentId: 0, appId: 7 })));
    expect(writes.count).toBe(4 + 18 + 13 + 2 + 1 + 1 + 2 + 1);
  });

  it("merges spec.config of every program, the mirror interface as its ifindex, offload on with a fast path", () => {
    const config = decode("config", applied(golden).config);
    expect(config).toMatchObject({
      flags: CFG_OFFLOAD_ENABLED,
      sampleOneIn: 64,
      reinspectAfterNs: 300_000_000_000n,
      mirrorIfindex: 7,
      fwmarkMask: 0xf0,
      offloadLeaseUntilNs: 0n,
      blockGeneration: 0,
    });
    const inspectAll = rehash(sensor, (p) => (p.spec.config.inspect_all = true));
    expect(decode("config", applied([inspectAll]).config).flags).toBe(CFG_INSPECT_ALL);
  });
});

describe("maps of programs read from their sealed bodies (entries encoded as read)", () => {
  const readBack = (p: NodeProgram) =>
    readSealedBody(Buffer.from(JSON.stringify(sealProgram(p.metadata, p.spec))))!;
  const snapshot = (programs: readonly NodeProgram[]) => {
    const { maps, config } = desiredMaps(programs, ifindex);
    return {
      config: config,
      maps: [...maps].map(([name, m]) => ({
        name,
        keys: m.keyBytes.toString("hex"),
        values: m.valueBytes.toString("hex"),
        entries: Array.from({ length: m.size }, (_, slot) => m.entry(slot)),
      })),
    };
  };

  it("merge into the same entries, with the same owners, alone or beside parsed programs", () => {
    const read = golden.map(readBack);
    expect(read.every((p) => encodedMapsOf(p) !== undefined)).toBe(true);
    const expected = snapshot(golden);
    expect(snapshot(read)).toEqual(expected);
    expect(snapshot([read[0]!, qos, read[2]!, sensor])).toEqual(expected);
  });

  it("conflict at the same path with the same words", () => {
    const other = program("qos-other", {
      maps: { fos1_app_policy: [{ key: { app_id: 9 }, value: { class_id: 17 } }] },
    });
    const expected = thrown(() => desiredMaps([qos, other], ifindex));
    for (const programs of [
      [readBack(qos), readBack(other)],
      [qos, readBack(other)],
      [readBack(qos), other],
    ]) {
      const error = thrown(() => desiredMaps(programs, ifindex));
      expect(error).toBeInstanceOf(ConflictError);
      expect(error.message).toBe(expected.message);
      expect((error as ConflictError).path).toBe((expected as ConflictError).path);
    }
  });

  it("report drift at the same paths", () => {
    const read = golden.map(readBack);
    const kernel = applied(golden);
    kernel.maps.get("fos1_app_policy")!.delete(appKey(9));
    kernel.maps.get("fos1_segments")!.clear();
    const expected = diffMaps(desiredMaps(golden, ifindex), dumped(kernel));
    expect(expected.length).toBeGreaterThan(1);
    expect(diffMaps(desiredMaps(read, ifindex), dumped(kernel))).toEqual(expected);
  });
});

describe("maps conflicts and refusals", () => {
  it("two programs setting one field of one key differently conflict, at the later program's path", () => {
    const other = program("qos-other", {
      maps: { fos1_app_policy: [{ key: { app_id: 9 }, value: { class_id: 17 } }] },
    });
    const error = thrown(() => desiredMaps([qos, other], ifindex));
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).path).toBe("spec.maps.fos1_app_policy[0].value.class_id");
    expect(error.message).toContain(`program "${qos.metadata.name}" already sets 19`);
  });

  it("the same setting from two programs is no conflict", () => {
    const same = program("qos-same", {
      maps: { fos1_app_policy: [{ key: { app_id: 9 }, value: { class_id: 19 } }] },
    });
    expect(() => desiredMaps([qos, same], ifindex)).not.toThrow();
  });

  it("two programs setting one config member differently conflict", () => {
    const other = program("fastpath-other", { config: { sample_one_in: 8 } });
    const error = thrown(() => desiredMaps([fastPath, other], ifindex));
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).path).toBe("spec.config.sample_one_in");
  });

  it.each([
    [
      { fos1_flows: [{ key: { x: 1 }, value: {} }] },
      "spec.maps.fos1_flows: flow state is the agent's runtime state",
    ],
    [{ fos1_config: [] }, "spec.maps.fos1_config: node-wide settings are set through spec.config"],
    [{ fos1_nope: [] }, "spec.maps.fos1_nope: no such map in fos1.h"],
    [
      { fos1_app_policy: [{ key: { app_id: 1 }, value: { colour: 1 } }] },
      "spec.maps.fos1_app_policy[0].value.colour: unknown field",
    ],
    [
      { fos1_qos_classes: [{ key: { class_id: 1 }, value: { dscp: 64 } }] },
      "spec.maps.fos1_qos_classes[0].value.dscp: 64 is outside 0..63",
    ],
    [
      { fos1_route_policy: [{ key: { app_id: 1 }, value: {} }] },
      "spec.maps.fos1_route_policy[0].key: missing segment_id",
    ],
    [
      { fos1_watch: [{ key: { prefix: "10.0.0.1/8" }, value: { id: 1 } }] },
      "spec.maps.fos1_watch[0].key.prefix:",
    ],
    [
      { fos1_watch: [{ key: { prefix: 10 }, value: { id: 1 } }] },
      "spec.maps.fos1_watch[0].key.prefix: expected a prefix",
    ],
    [
      { fos1_app_policy: [{ key: { app_id: "7" }, value: {} }] },
      "spec.maps.fos1_app_policy[0].key.app_id: expected an integer",
    ],
  ])("refuses %j with its path", (maps, message) => {
    const error = thrown(() => desiredMaps([program("bad", { maps })], ifindex));
    expect(error).not.toBeInstanceOf(ConflictError);
    expect(error.message.startsWith(message)).toBe(true);
  });

  it("refuses more entries on the node than the map holds", () => {
    const many = (from: number) =>
      Array.from({ length: 9000 }, (_, i) => ({ key: { app_id: from + i }, value: { class_id: 1 } }));
    const a = program("a", { maps: { fos1_app_policy: many(1) } });
    const b = program("b", { maps: { fos1_app_policy: many(20_000) } });
    expect(() => desiredMaps([a], ifindex)).not.toThrow();
    expect(thrown(() => desiredMaps([a, b], ifindex)).message).toBe(
      "spec.maps.fos1_app_policy: 18000 entries on this node exceed the map's capacity of 16384",
    );
  });

  it("refuses a mirror interface the node does not have", () => {
    const p = program("sensor-x", { config: { mirror_interface: "nomirror0" } });
    expect(thrown(() => desiredMaps([p], ifindex)).message).toBe(
      'spec.config.mirror_interface: no interface "nomirror0" on this node',
    );
  });
});

describe("maps diff and writes", () => {
  it("writes nothing when the kernel holds the desired state", () => {
    const desired = desiredMaps(golden, ifindex);
    const actual = dumped(applied(golden));
    expect(planWrites(desired, actual).count).toBe(0);
    expect(diffMaps(desired, actual)).toEqual([]);
  });

  it("attributes a changed field to the program that owns that field", () => {
    const kernel = applied(golden);
    kernel.maps
      .get("fos1_app_policy")!
      .set(appKey(9), byteString(encode("appPolicy", { classId: 19, flags: 2 })));
    const actual = dumped(kernel);
    const desired = desiredMaps(golden, ifindex);
    expect(diffMaps(desired, actual)).toEqual([
      {
        program: fastPath.metadata.name,
        path: "spec.maps.fos1_app_policy[app_id=9].flags",
        expected: 1,
        actual: 2,
      },
    ]);
    expect(planWrites(desired, actual).count).toBe(1);
  });

  it("a missing shared entry is drift of every program naming it; a stray entry is deleted, nobody's drift", () => {
    const kernel = applied(golden);
    const policy = kernel.maps.get("fos1_app_policy")!;
    policy.delete(appKey(9));
    policy.set(appKey(999), byteString(encode("appPolicy", { classId: 1, flags: 0 })));
    const actual = dumped(kernel);
    const desired = desiredMaps(golden, ifindex);
    const drift = diffMaps(desired, actual);
    expect(drift).toEqual([
      {
        program: fastPath.metadata.name,
        path: "spec.maps.fos1_app_policy[app_id=9]",
        expected: { flags: 1 },
        actual: null,
      },
      {
        program: qos.metadata.name,
        path: "spec.maps.fos1_app_policy[app_id=9]",
        expected: { class_id: 19 },
        actual: null,
      },
    ]);
    const writes = planWrites(desired, actual);
    const policyWrites = writes.maps.find((m) => m.map.name === "fos1_app_policy")!;
    expect(upserted(policyWrites)).toEqual([appKey(9)]);
    expect(deleted(policyWrites)).toEqual([appKey(999)]);
  });

  it("removing a program deletes its keys and zeroes only its fields of shared keys", () => {
    const actual = dumped(applied(golden));
    const desired = desiredMaps([qos, routing, sensor], ifindex);
    const writes = planWrites(desired, actual);
    const policy = writes.maps.find((m) => m.map.name === "fos1_app_policy")!;
    // 5 fast-path-only apps deleted, the 4 shared ones rewritten without OFFLOAD_ALLOWED.
    expect(policy.deletes).toBe(5);
    expect(upsertedValues(policy).map((v) => decode("appPolicy", bytes(v)))).toEqual(
      Array(4).fill({ classId: 19, flags: 0 }),
    );
    expect(writes.maps.map((m) => m.map.name).sort()).toEqual([
      "fos1_app_policy",
      "fos1_critical",
      "fos1_watch",
    ]);
    expect(decode("config", Buffer.from(writes.config!.patch)).flags & CFG_OFFLOAD_ENABLED).toBe(0);
  });

  it("a config member set out of band is drift of the program that set it", () => {
    const actual = dumped(applied(golden));
    actual.config.writeUInt32LE(32, 4);
    expect(diffMaps(desiredMaps(golden, ifindex), actual)).toEqual([
      { program: fastPath.metadata.name, path: "spec.config.sample_one_in", expected: 64, actual: 32 },
    ]);
  });
});

it("flow keys are the same bytes as sdk/abi encodes", async () => {
  const { flowKeys, addrKeys } = await import("@fos1/dpi/agent/src/bpf/key-bytes");
  const keys = [
    flowKeyOf({ src: "10.10.1.2", dst: "192.0.2.10", sport: 40000, dport: 443, proto: 6 }).key,
    flowKeyOf({ src: "2001:db8::1", dst: "fd00::2", sport: 7, dport: 7, proto: 58, vlanId: 12 }).key,
    flowKeyOf({ src: "0.0.0.0", dst: "255.255.255.255", sport: 0, dport: 65535, proto: 17 }).key,
  ];
  expect(flowKeys(keys)).toEqual(Buffer.concat(keys.map((k) => encode("flowKey", k))));
  expect(addrKeys(["10.0.0.1", "::ffff:10.0.0.1", "2001:db8::1"])).toEqual(
    Buffer.concat(["10.0.0.1", "10.0.0.1", "2001:db8::1"].map((a) => encode("addr", { addr: a }))),
  );
  for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "10..0.1", "x"])
    expect(() => addrKeys([bad])).toThrow();
});

describe("policy map codecs", () => {
  const codecs = POLICY_MAPS.flatMap((m) => [m.key, m.value]);
  const fields = fc.constantFrom(...new Set(codecs.flatMap((c) => c.fields)), "colour", "__proto__");
  const values = fc.oneof(
    fc.constantFrom(0, -0, 1, -1, 1.5, 63, 64, 255, 256, 0xffff, 0xffffffff, 2 ** 32, NaN, Infinity),
    fc.integer({ min: -10, max: 2 ** 33 }),
    fc.constantFrom("10.0.0.0/8", "10.0.0.1/8", "2001:db8::/32", "::ffff:10.1.0.0/112", "10.0.0.0", "7", ""),
    fc.constantFrom(null, true, {}, []),
  );

  it("write refuses exactly the records check refuses, and writes what sdk/abi decodes back", () => {
    const out = Buffer.alloc(64);
    fc.assert(
      fc.property(
        fc.constantFrom(...codecs),
        fc.dictionary(fields, values, { maxKeys: 3 }),
        (codec, record) => {
          const refused = Object.entries(record).some(([f, v]) => codec.check(f, v) !== undefined);
          const written = codec.write(record, out, 3);
          expect(written < 0).toBe(refused);
          if (refused) return;
          expect(written).toBe(Object.keys(record).length);
          const decoded = codec.decode(out.subarray(3, 3 + codec.size));
          for (const [f, v] of Object.entries(record)) {
            if (f === "prefix") expect(lpmPrefix(decoded.prefix as string)).toEqual(lpmPrefix(v as string));
            else expect([f, decoded[f] === v]).toEqual([f, true]); // -0 is stored as 0
          }
          for (const f of codec.fields.filter((f) => !(f in record) && f !== "prefix"))
            expect(decoded[f]).toBe(0);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
