/**
 * Byte layouts of every key and value struct in bpf/include/fos1.h. Offsets
 * and sizes are stated, not computed, so that test/unit/abi-layout.test.ts can
 * compare them with the BTF clang emits for the objects.
 */

/** How a field is stored: native-endian integers (map memory is host order), big-endian ports, 16-byte addresses. */
export type FieldKind = "u8" | "u16" | "u32" | "u64" | "be16" | "addr" | "mac" | "pad";

export interface FieldLayout {
  /** Member name in C. */
  readonly c: string;
  /** Property name in the TypeScript value (absent for padding). */
  readonly ts: string;
  readonly offset: number;
  readonly kind: FieldKind;
  /** Array length for array members (`__u64 packets[2]`), or the byte count of padding. */
  readonly count?: number;
}

export interface StructLayout {
  /** Struct name in C (`struct <c>`). */
  readonly c: string;
  readonly size: number;
  readonly fields: readonly FieldLayout[];
}

const KIND_SIZE: Record<Exclude<FieldKind, "pad">, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  be16: 2,
  addr: 16,
  mac: 6,
};

/** Bytes a field occupies. */
export function fieldSize(f: FieldLayout): number {
  return f.kind === "pad" ? (f.count ?? 1) : KIND_SIZE[f.kind] * (f.count ?? 1);
}

const f = (c: string, ts: string, offset: number, kind: FieldKind, count?: number): FieldLayout =>
  count === undefined ? { c, ts, offset, kind } : { c, ts, offset, kind, count };

export const LAYOUTS = {
  config: {
    c: "fos1_config",
    size: 64,
    fields: [
      f("flags", "flags", 0, "u32"),
      f("sample_one_in", "sampleOneIn", 4, "u32"),
      f("reinspect_after_ns", "reinspectAfterNs", 8, "u64"),
      f("mirror_ifindex", "mirrorIfindex", 16, "u32"),
      f("fwmark_mask", "fwmarkMask", 20, "u32"),
      f("class_mark_mask", "classMarkMask", 24, "u32"),
      f("class_mark_shift", "classMarkShift", 28, "u32"),
      f("offload_lease_until_ns", "offloadLeaseUntilNs", 32, "u64"),
      f("block_generation", "blockGeneration", 40, "u32"),
      f("policy_generation", "policyGeneration", 44, "u32"),
      f("nexthop_ttl_ns", "nexthopTtlNs", 48, "u64"),
      f("load_sample_one_in", "loadSampleOneIn", 56, "u32"),
      f("pad", "", 60, "pad", 4),
    ],
  },
  qosClass: {
    c: "fos1_qos_class",
    size: 8,
    fields: [
      f("skb_priority", "skbPriority", 0, "u32"),
      f("dscp", "dscp", 4, "u8"),
      f("pad", "", 5, "pad", 3),
    ],
  },
  appPolicy: {
    c: "fos1_app_policy",
    size: 8,
    fields: [f("class_id", "classId", 0, "u32"), f("flags", "flags", 4, "u32")],
  },
  routeKey: {
    c: "fos1_route_key",
    size: 8,
    fields: [f("segment_id", "segmentId", 0, "u32"), f("app_id", "appId", 4, "u32")],
  },
  routeTarget: { c: "fos1_route_target", size: 4, fields: [f("mark", "mark", 0, "u32")] },
  lpmKey: {
    c: "fos1_lpm_key",
    size: 20,
    fields: [f("prefixlen", "prefixlen", 0, "u32"), f("addr", "addr", 4, "addr")],
  },
  addr: { c: "fos1_addr", size: 16, fields: [f("addr", "addr", 0, "addr")] },
  flowKey: {
    c: "fos1_flow_key",
    size: 40,
    fields: [
      f("addr_a", "addrA", 0, "addr"),
      f("addr_b", "addrB", 16, "addr"),
      f("port_a", "portA", 32, "be16"),
      f("port_b", "portB", 34, "be16"),
      f("vlan_id", "vlanId", 36, "u16"),
      f("proto", "proto", 38, "u8"),
      f("pad", "", 39, "pad", 1),
    ],
  },
  flow: {
    c: "fos1_flow",
    size: 176,
    fields: [
      f("state", "state", 0, "u32"),
      f("flags", "flags", 4, "u32"),
      f("app_id", "appId", 8, "u32"),
      f("class_id", "classId", 12, "u32"),
      f("mark", "mark", 16, "u32"),
      f("segment_id", "segmentId", 20, "u32"),
      f("sample_count", "sampleCount", 24, "u32"),
      f("block_gen", "blockGen", 28, "u32"),
      f("nh_ifindex", "nhIfindex", 32, "u32", 2),
      f("nh_mtu", "nhMtu", 40, "u16", 2),
      f("nh_smac", "nhSmac", 44, "mac", 2),
      f("nh_dmac", "nhDmac", 56, "mac", 2),
      f("dscp", "dscp", 68, "u8"),
      f("pad", "", 69, "pad", 3),
      f("packets", "packets", 72, "u64", 2),
      f("bytes", "bytes", 88, "u64", 2),
      f("first_seen_ns", "firstSeenNs", 104, "u64"),
      f("last_seen_ns", "lastSeenNs", 112, "u64"),
      f("offload_deadline_ns", "offloadDeadlineNs", 120, "u64"),
      f("nh_checked_ns", "nhCheckedNs", 128, "u64", 2),
      f("app_gen", "appGen", 144, "u32"),
      f("app_key", "appKey", 148, "u32"),
      f("app_class_id", "appClassId", 152, "u32"),
      f("app_flags", "appFlags", 156, "u32"),
      f("qos_gen", "qosGen", 160, "u32"),
      f("qos_key", "qosKey", 164, "u32"),
      f("qos_skb_priority", "qosSkbPriority", 168, "u32"),
      f("qos_dscp", "qosDscp", 172, "u8"),
      f("qos_found", "qosFound", 173, "u8"),
      f("pad2", "", 174, "pad", 2),
    ],
  },
  block: {
    c: "fos1_block",
    size: 16,
    fields: [
      f("expires_ns", "expiresNs", 0, "u64"),
      f("reason", "reason", 8, "u32"),
      f("pad", "", 12, "pad", 4),
    ],
  },
  appDest: {
    c: "fos1_app_dest",
    size: 16,
    fields: [
      f("app_id", "appId", 0, "u32"),
      f("pad", "", 4, "pad", 4),
      f("expires_ns", "expiresNs", 8, "u64"),
    ],
  },
} as const satisfies Record<string, StructLayout>;

/**
 * `struct fos1_flow_patch_batch`, the one entry of fos1_flow_patch: a header,
 * the mask (a `struct fos1_flow`), then keys, patches and found flags as
 * arrays of FLOW_PATCH_MAX. Stated here and checked against the BTF like
 * LAYOUTS (it holds nested arrays of structs, which LAYOUTS does not describe).
 */
export const FLOW_PATCH_BATCH = {
  max: 1024,
  count: 0,
  mask: 8,
  keys: 184,
  patches: 41_144,
  found: 221_368,
  size: 222_392,
} as const;
