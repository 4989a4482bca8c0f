/**
 * Constants of bpf/include/fos1.h, mirrored for user space. test/unit/abi-header.test.ts
 * reads the header and fails if a value here differs.
 */

/** Map names; maps are pinned by name under the agent's pin root. */
export const MAP_NAMES = {
  config: "fos1_config",
  qosClasses: "fos1_qos_classes",
  appPolicy: "fos1_app_policy",
  routePolicy: "fos1_route_policy",
  appDeny: "fos1_app_deny",
  segments: "fos1_segments",
  inspectSelect: "fos1_inspect_select",
  critical: "fos1_critical",
  watch: "fos1_watch",
  flows: "fos1_flows",
  blockSrc: "fos1_block_src",
  blockDst: "fos1_block_dst",
  blockFlow: "fos1_block_flow",
  appDest: "fos1_app_dest",
  stats: "fos1_stats",
  flowPatch: "fos1_flow_patch",
} as const;

export type MapName = (typeof MAP_NAMES)[keyof typeof MAP_NAMES];

/** max_entries of each map family. */
export const CAPACITY = {
  flows: 131072,
  blocks: 65536,
  appDest: 65536,
  policy: 16384,
  prefixes: 16384,
} as const;

/** The default bpffs directory the agent pins maps and programs under. */
export const DEFAULT_PIN_ROOT = "/sys/fs/bpf/fos1";

export const CFG_OFFLOAD_ENABLED = 1 << 0;
export const CFG_INSPECT_ALL = 1 << 1;

export const APP_OFFLOAD_ALLOWED = 1 << 0;
export const APP_NEVER_OFFLOAD = 1 << 1;

export const FLOW_F_ORIG_A = 1 << 0;
export const FLOW_F_SELECTED = 1 << 1;
export const FLOW_F_CRITICAL = 1 << 2;
export const FLOW_F_WATCHED = 1 << 3;
export const FLOW_F_UNKNOWN_L4 = 1 << 4;
export const FLOW_F_ANOMALY = 1 << 5;
/** BLOCKED by an application-control deny at its first packet: a block's expiry does not release it. */
export const FLOW_F_APP_DENIED = 1 << 6;
export const FLOW_F_NEVER_OFFLOAD = FLOW_F_CRITICAL | FLOW_F_WATCHED | FLOW_F_UNKNOWN_L4 | FLOW_F_ANOMALY;
/** Flows fully inspected even while `load_sample_one_in` sheds the others. */
export const FLOW_F_NEVER_SHED = FLOW_F_CRITICAL | FLOW_F_WATCHED | FLOW_F_ANOMALY;

/** Under load shedding, every flow's first packets (both directions) are still all mirrored. */
export const LOAD_SHED_AFTER_PACKETS = 32;

/** class_id of the QoS default class: flows no class names are re-marked with its DSCP. */
export const DEFAULT_CLASS_ID = 0x10;

export const FlowState = { INSPECT: 0, OFFLOADED: 1, BLOCKED: 2 } as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];

/** Index into fos1_flow.packets / .bytes. */
export const Direction = { ORIG: 0, REPLY: 1 } as const;

/** Index into the fos1_stats per-CPU array, in enum fos1_stat order. */
export const STATS = [
  "packets",
  "not_ip",
  "malformed",
  "fragments",
  "new_flows",
  "flow_insert_failed",
  "blocked",
  "mirrored",
  "mirror_failed",
  "sampled",
  "fastpath",
  "fastpath_fallback",
  "offload_revoked",
  "reinspect_deadline",
  "classified",
  "dscp_rewritten",
  "load_shed",
] as const;

export type StatName = (typeof STATS)[number];

/** Program names (SEC("tc")) and the object each lives in, under bpf/build/. */
export const PROGRAMS = {
  ingressLan: { name: "fos1_ingress_lan", object: "tc_ingress_lan.o" },
  ingressUplink: { name: "fos1_ingress_uplink", object: "tc_ingress_uplink.o" },
  egressClassify: { name: "fos1_egress_classify", object: "tc_egress_classify.o" },
  /** Not attached: the agent runs it (BPF_PROG_RUN) to apply flow verdicts in place. */
  flowPatch: { name: "fos1_flow_patch_run", object: "flow_patch.o" },
} as const;
