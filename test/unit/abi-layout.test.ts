import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  APP_NEVER_OFFLOAD,
  APP_OFFLOAD_ALLOWED,
  CAPACITY,
  CFG_INSPECT_ALL,
  CFG_OFFLOAD_ENABLED,
  Direction,
  FLOW_F_ANOMALY,
  FLOW_F_APP_DENIED,
  FLOW_F_CRITICAL,
  FLOW_F_NEVER_SHED,
  FLOW_F_ORIG_A,
  FLOW_F_SELECTED,
  FLOW_F_UNKNOWN_L4,
  FLOW_F_WATCHED,
  FlowState,
  LAYOUTS,
  LOAD_SHED_AFTER_PACKETS,
  DEFAULT_CLASS_ID,
  MAP_NAMES,
  STATS,
  fieldSize,
  FLOW_PATCH_BATCH,
} from "@fos1/dpi/sdk/abi";

// The layouts the TypeScript side writes must be the ones clang laid out: read
// them back from the BTF of the built objects (bpftool needs no root for a file).
const BPF_DIR = join(__dirname, "..", "..", "bpf");
const OBJECTS = ["tc_ingress_lan.o", "tc_egress_classify.o"];

interface BtfType {
  kind: string;
  name: string;
  size?: number;
  typeId?: number;
  nrElems?: number;
  members: { name: string; typeId: number; bitsOffset: number }[];
}

function parseRawBtf(text: string): Map<number, BtfType> {
  const types = new Map<number, BtfType>();
  let current: BtfType | undefined;
  for (const line of text.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      const attrs = head[4]!;
      const num = (k: string) => {
        const m = new RegExp(`\\b${k}=(\\d+)`).exec(attrs);
        return m ? Number(m[1]) : undefined;
      };
      current = {
        kind: head[2]!,
        name: head[3]!,
        size: num("size"),
        typeId: num("type_id"),
        nrElems: num("nr_elems"),
        members: [],
      };
      types.set(Number(head[1]), current);
      continue;
    }
    const member = /^\s+'([^']*)' type_id=(\d+) bits_offset=(\d+)/.exec(line);
    if (member && current) {
      current.members.push({ name: member[1]!, typeId: Number(member[2]), bitsOffset: Number(member[3]) });
    }
  }
  return types;
}

function sizeOf(types: Map<number, BtfType>, id: number): number {
  const t = types.get(id);
  if (!t) throw new Error(`BTF type ${id} missing`);
  if (t.kind === "ARRAY") return t.nrElems! * sizeOf(types, t.typeId!);
  if (t.size !== undefined) return t.size;
  if (t.typeId !== undefined) return sizeOf(types, t.typeId);
  throw new Error(`BTF type ${id} (${t.kind}) has no size`);
}

describe.each(OBJECTS)("ABI layout agrees with the BTF of %s", (object) => {
  let types: Map<number, BtfType>;
  const structs = new Map<string, BtfType>();

  beforeAll(() => {
    execFileSync("make", ["-s", "-C", BPF_DIR, `build/${object}`], { stdio: "pipe" });
    const raw = execFileSync(
      "bpftool",
      ["btf", "dump", "file", join(BPF_DIR, "build", object), "format", "raw"],
      {
        encoding: "utf8",
      },
    );
    types = parseRawBtf(raw);
    for (const t of types.values())
      if (t.kind === "STRUCT" && t.name.startsWith("fos1_")) structs.set(t.name, t);
  });

  it.each(Object.values(LAYOUTS).map((l) => [l.c, l] as const))(
    "struct %s: size, members, offsets",
    (_c, layout) => {
      const btf = structs.get(layout.c);
      expect(btf).toBeDefined();
      expect(btf!.size).toBe(layout.size);
      expect(btf!.members.map((m) => m.name)).toEqual(layout.fields.map((f) => f.c));
      for (const field of layout.fields) {
        const m = btf!.members.find((x) => x.name === field.c)!;
        expect({ field: field.c, offset: m.bitsOffset / 8, size: sizeOf(types, m.typeId) }).toEqual({
          field: field.c,
          offset: field.offset,
          size: fieldSize(field),
        });
      }
    },
  );

  it("covers every fos1_ struct the object defines", () => {
    const mirrored = new Set<string>(Object.values(LAYOUTS).map((l) => l.c));
    expect([...structs.keys()].filter((n) => !mirrored.has(n))).toEqual([]);
  });
});

describe("struct fos1_flow_patch_batch agrees with the BTF of flow_patch.o", () => {
  it("size, members, offsets and the batch size", () => {
    execFileSync("make", ["-s", "-C", BPF_DIR, "build/flow_patch.o"], { stdio: "pipe" });
    const raw = execFileSync(
      "bpftool",
      ["btf", "dump", "file", join(BPF_DIR, "build", "flow_patch.o"), "format", "raw"],
      { encoding: "utf8" },
    );
    const types = parseRawBtf(raw);
    const batch = [...types.values()].find((t) => t.kind === "STRUCT" && t.name === "fos1_flow_patch_batch");
    expect(batch?.size).toBe(FLOW_PATCH_BATCH.size);
    const B = FLOW_PATCH_BATCH;
    expect(
      batch!.members.map((m) => ({ name: m.name, offset: m.bitsOffset / 8, size: sizeOf(types, m.typeId) })),
    ).toEqual([
      { name: "count", offset: B.count, size: 4 },
      { name: "pad", offset: B.count + 4, size: 4 },
      { name: "mask", offset: B.mask, size: LAYOUTS.flow.size },
      { name: "keys", offset: B.keys, size: B.max * LAYOUTS.flowKey.size },
      { name: "patches", offset: B.patches, size: B.max * LAYOUTS.flow.size },
      { name: "found", offset: B.found, size: B.max },
    ]);
    const header = readFileSync(join(BPF_DIR, "include", "fos1.h"), "utf8");
    expect(/^#define FOS1_FLOW_PATCH_MAX (\d+)$/m.exec(header)?.[1]).toBe(String(B.max));
  });
});

describe("ABI constants agree with bpf/include/fos1.h", () => {
  const header = readFileSync(join(BPF_DIR, "include", "fos1.h"), "utf8");
  const define = (name: string): string => {
    const m = new RegExp(`^#define ${name}\\s+(.+?)\\s*(/\\*.*)?$`, "m").exec(header);
    if (!m) throw new Error(`${name} not defined in fos1.h`);
    return m[1]!;
  };
  const numeric = (name: string): number => {
    const v = define(name);
    const shift = /^\(1U << (\d+)\)$/.exec(v);
    return shift ? 1 << Number(shift[1]) : Number(v);
  };
  /** A define written as `(FOS1_A | FOS1_B ...)`, evaluated from its parts' own defines. */
  const union = (name: string): number => {
    const parts = /^\(([\w\s|]+)\)$/.exec(define(name));
    if (!parts) throw new Error(`${name} is not a (A | B ...) union in fos1.h`);
    return parts[1]!.split("|").reduce((acc, part) => acc | numeric(part.trim()), 0);
  };
  const enumValues = (name: string): string[] => {
    const m = new RegExp(`enum ${name} \\{([^}]*)\\}`, "m").exec(header);
    if (!m) throw new Error(`enum ${name} not in fos1.h`);
    return m[1]!
      .split("\n")
      .map((l) => l.replace(/\/\*.*?\*\//g, "").trim())
      .filter((l) => l.length > 0)
      .map((l) => l.replace(/[,\s].*$/, "").replace(/=.*$/, ""));
  };

  it("map names", () => {
    for (const name of Object.values(MAP_NAMES)) {
      expect(define(`FOS1_MAP_${name.replace(/^fos1_/, "").toUpperCase()}`)).toBe(JSON.stringify(name));
    }
    expect(header.match(/^#define FOS1_MAP_/gm)).toHaveLength(Object.keys(MAP_NAMES).length);
  });

  it("capacities and flags", () => {
    expect(numeric("FOS1_FLOWS_MAX")).toBe(CAPACITY.flows);
    expect(numeric("FOS1_BLOCKS_MAX")).toBe(CAPACITY.blocks);
    expect(numeric("FOS1_APP_DEST_MAX")).toBe(CAPACITY.appDest);
    expect(numeric("FOS1_POLICY_MAX")).toBe(CAPACITY.policy);
    expect(numeric("FOS1_PREFIXES_MAX")).toBe(CAPACITY.prefixes);
    expect(numeric("FOS1_CFG_OFFLOAD_ENABLED")).toBe(CFG_OFFLOAD_ENABLED);
    expect(numeric("FOS1_CFG_INSPECT_ALL")).toBe(CFG_INSPECT_ALL);
    expect(numeric("FOS1_APP_OFFLOAD_ALLOWED")).toBe(APP_OFFLOAD_ALLOWED);
    expect(numeric("FOS1_APP_NEVER_OFFLOAD")).toBe(APP_NEVER_OFFLOAD);
    expect(numeric("FOS1_FLOW_F_ORIG_A")).toBe(FLOW_F_ORIG_A);
    expect(numeric("FOS1_FLOW_F_SELECTED")).toBe(FLOW_F_SELECTED);
    expect(numeric("FOS1_FLOW_F_CRITICAL")).toBe(FLOW_F_CRITICAL);
    expect(numeric("FOS1_FLOW_F_WATCHED")).toBe(FLOW_F_WATCHED);
    expect(numeric("FOS1_FLOW_F_UNKNOWN_L4")).toBe(FLOW_F_UNKNOWN_L4);
    expect(numeric("FOS1_FLOW_F_ANOMALY")).toBe(FLOW_F_ANOMALY);
    expect(numeric("FOS1_FLOW_F_APP_DENIED")).toBe(FLOW_F_APP_DENIED);
    expect(union("FOS1_FLOW_F_NEVER_SHED")).toBe(FLOW_F_NEVER_SHED);
    expect(numeric("FOS1_LOAD_SHED_AFTER_PACKETS")).toBe(LOAD_SHED_AFTER_PACKETS);
    expect(numeric("FOS1_DEFAULT_CLASS_ID")).toBe(DEFAULT_CLASS_ID);
  });

  it("enums in declaration order", () => {
    expect(enumValues("fos1_flow_state")).toEqual(Object.keys(FlowState).map((k) => `FOS1_FLOW_${k}`));
    expect(Object.values(FlowState)).toEqual([0, 1, 2]);
    expect(enumValues("fos1_dir")).toEqual(Object.keys(Direction).map((k) => `FOS1_DIR_${k}`));
    expect(enumValues("fos1_stat")).toEqual([
      ...STATS.map((s) => `FOS1_STAT_${s.toUpperCase()}`),
      "FOS1_STAT__MAX",
    ]);
  });
});
