import { CFG_INSPECT_ALL, CFG_OFFLOAD_ENABLED } from "../../../sdk/abi/constants";
import { LAYOUTS } from "../../../sdk/abi/layout";
import type { NodeProgram } from "../../../sdk/compile/node-program";
import { ConflictError, type ProgramDrift } from "../reconcile/reconciler";

/**
 * The members of the node-wide `fos1_config` that programs own. The others
 * belong to the agent at run time and are never written from programs:
 * `offload_lease_until_ns` (the lease keeper), `block_generation` (the block
 * writer), `class_mark_*` and `nexthop_ttl_ns` (left as they are).
 */
export type ConfigMember =
  | "inspect_all"
  | "offload_enabled"
  | "sample_one_in"
  | "reinspect_after_ns"
  | "mirror_ifindex"
  | "fwmark_mask";

/** One member's setting and the program (and path in it) that set it. */
export interface ConfigSetting {
  readonly value: number;
  readonly program: string;
  readonly path: string;
}

/** What fos1_config must hold; members no program sets must be 0 (off). */
export type DesiredConfig = ReadonlyMap<ConfigMember, ConfigSetting>;

const CONFIG_SIZE = LAYOUTS.config.size;
const offset = (c: string): number => LAYOUTS.config.fields.find((f) => f.c === c)!.offset;

/** Where each member lives in the struct; the two flags are bits of `flags`. */
const MEMBERS: Record<ConfigMember, { offset: number; kind: "u32" | "u64" | "bit"; bit?: number }> = {
  inspect_all: { offset: offset("flags"), kind: "bit", bit: CFG_INSPECT_ALL },
  offload_enabled: { offset: offset("flags"), kind: "bit", bit: CFG_OFFLOAD_ENABLED },
  sample_one_in: { offset: offset("sample_one_in"), kind: "u32" },
  reinspect_after_ns: { offset: offset("reinspect_after_ns"), kind: "u64" },
  mirror_ifindex: { offset: offset("mirror_ifindex"), kind: "u32" },
  fwmark_mask: { offset: offset("fwmark_mask"), kind: "u32" },
};

/**
 * Merges every program's `spec.config` into one fos1_config. Interface names
 * become ifindexes here (`ifindex` resolves in the agent's namespace). Two
 * programs setting one member differently is a ConflictError at the later
 * program's path. A program with a fast-path policy turns the offload switch
 * on: the fast path exists only while some program asks for it.
 */
export function desiredConfig(
  programs: readonly NodeProgram[],
  ifindex: (name: string) => number,
): DesiredConfig {
  const settings = new Map<ConfigMember, ConfigSetting & { readonly raw: unknown }>();
  const set = (member: ConfigMember, raw: unknown, value: () => number, program: string, path: string) => {
    const prior = settings.get(member);
    if (prior) {
      if (prior.raw !== raw) {
        throw new ConflictError(
          path,
          `program "${program}" sets ${path} to ${JSON.stringify(raw)}; program "${prior.program}" ` +
            `already sets it to ${JSON.stringify(prior.raw)}`,
        );
      }
      return;
    }
    settings.set(member, { value: value(), raw, program, path });
  };
  for (const p of programs) {
    const name = p.metadata.name;
    const c = p.spec.config;
    const at = (k: string) => `spec.config.${k}`;
    if (c.inspect_all !== undefined)
      set("inspect_all", c.inspect_all, () => (c.inspect_all ? 1 : 0), name, at("inspect_all"));
    if (c.sample_one_in !== undefined)
      set("sample_one_in", c.sample_one_in, () => c.sample_one_in!, name, at("sample_one_in"));
    if (c.reinspect_after_ns !== undefined)
      set(
        "reinspect_after_ns",
        c.reinspect_after_ns,
        () => c.reinspect_after_ns!,
        name,
        at("reinspect_after_ns"),
      );
    if (c.fwmark_mask !== undefined)
      set("fwmark_mask", c.fwmark_mask, () => c.fwmark_mask!, name, at("fwmark_mask"));
    const mirror = c.mirror_interface;
    if (mirror !== undefined) {
      set(
        "mirror_ifindex",
        mirror,
        () => {
          const index = ifindex(mirror);
          if (index === 0)
            throw new Error(`${at("mirror_interface")}: no interface "${mirror}" on this node`);
          return index;
        },
        name,
        at("mirror_interface"),
      );
    }
    if (p.spec.runtime.fastPath) set("offload_enabled", true, () => 1, name, "spec.runtime.fastPath");
  }
  return new Map([...settings].map(([m, { value, program, path }]) => [m, { value, program, path }]));
}

function readMember(bytes: Buffer, member: ConfigMember): number {
  const m = MEMBERS[member];
  if (m.kind === "bit") return bytes.readUInt32LE(m.offset) & m.bit! ? 1 : 0;
  if (m.kind === "u32") return bytes.readUInt32LE(m.offset);
  return Number(bytes.readBigUInt64LE(m.offset));
}

/** Where fos1_config's program-owned members differ, attributed to the program that set them. */
export function diffConfig(desired: DesiredConfig, actual: Buffer): ProgramDrift[] {
  const drift: ProgramDrift[] = [];
  for (const [member, s] of desired) {
    const got = readMember(actual, member);
    if (got !== s.value) drift.push({ program: s.program, path: s.path, expected: s.value, actual: got });
  }
  return drift;
}

/**
 * The bytes to write over fos1_config (patch under mask, read-modify-write),
 * or undefined when every program-owned member already holds its setting.
 */
export function configPatch(
  desired: DesiredConfig,
  actual: Buffer,
): { readonly patch: Buffer; readonly mask: Buffer } | undefined {
  const members = Object.keys(MEMBERS) as ConfigMember[];
  if (members.every((m) => readMember(actual, m) === (desired.get(m)?.value ?? 0))) return undefined;
  const patch = Buffer.alloc(CONFIG_SIZE);
  const mask = Buffer.alloc(CONFIG_SIZE);
  for (const member of members) {
    const m = MEMBERS[member];
    const v = desired.get(member)?.value ?? 0;
    if (m.kind === "bit") {
      mask.writeUInt32LE((mask.readUInt32LE(m.offset) | m.bit!) >>> 0, m.offset);
      if (v) patch.writeUInt32LE((patch.readUInt32LE(m.offset) | m.bit!) >>> 0, m.offset);
    } else if (m.kind === "u32") {
      mask.writeUInt32LE(0xffffffff, m.offset);
      patch.writeUInt32LE(v, m.offset);
    } else {
      mask.writeBigUInt64LE(0xffffffffffffffffn, m.offset);
      patch.writeBigUInt64LE(BigInt(v), m.offset);
    }
  }
  return { patch, mask };
}
