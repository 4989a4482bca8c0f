import { z } from "zod";
import { cidr, interfaceName, ipAddress, name } from "../schema/quantities";
import { canonicalJson, sha256 } from "./canonical";

/**
 * A NodeProgram is what one policy asks of one router node, in the terms the
 * node's kernel understands: eBPF map entries, an nftables table, HTB trees,
 * ip rules and routes, and the runtime decision tables the agent consults when
 * inspection reports a flow. The agent owns state by program name: applying a
 * program replaces exactly what that program owned before.
 *
 * The schema is also the agent API's body schema, so it is strict and bounded.
 */
export const NODE_PROGRAM_API_VERSION = "fos1.io/v1";

/**
 * Bounds of `spec.maps`. The agent checks large bodies' entries against these
 * same numbers without zod (agent/src/api/program-body.ts).
 */
export const MAP_LIMITS = {
  /** Entries per map in one program. */
  entries: 1_000_000,
  /** Characters of a field name in a key or value. */
  field: 32,
  /** Characters of a string field value. */
  text: 64,
  /** Characters of an entry's note. */
  note: 200,
  /** A map's name. */
  name: /^fos1_[a-z0-9_]+$/,
} as const;

const scalar = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.string().max(MAP_LIMITS.text),
]);

export const mapEntry = z.strictObject({
  key: z.record(z.string().max(MAP_LIMITS.field), scalar),
  value: z.record(z.string().max(MAP_LIMITS.field), scalar),
  /** What the entry means, for people reading a diff (`class voip <- zoom`). Not written to the kernel. */
  note: z.string().max(MAP_LIMITS.note).optional(),
});
export type MapEntry = z.infer<typeof mapEntry>;

const handle = z.string().regex(/^[0-9a-f]{1,4}:[0-9a-f]{0,4}$/, "must be a tc handle such as 1:10");

export const tcClass = z.strictObject({
  classid: handle,
  parent: handle,
  name,
  rateBps: z.number().int().min(1000),
  ceilBps: z.number().int().min(1000),
  /** HTB prio: lower is served first when borrowing. */
  prio: z.number().int().min(0).max(7),
  /** Bytes served per round; sized from the rate so HTB neither starves nor warns. */
  quantum: z.number().int().min(1514).max(200_000),
});
export type TcClass = z.infer<typeof tcClass>;

export const tcDevice = z.strictObject({
  device: interfaceName,
  uplink: name,
  bandwidthBps: z.number().int().min(8000),
  /** Class for packets whose skb->priority names no class. */
  defaultClass: handle,
  classes: z.array(tcClass).max(4096),
  /** Queueing discipline under every leaf class. */
  leafQdisc: z.literal("fq_codel"),
});
export type TcDevice = z.infer<typeof tcDevice>;

export const ipRule = z.strictObject({
  priority: z.number().int().min(1).max(32765),
  family: z.enum(["inet", "inet6"]),
  fwmark: z.number().int().min(1).max(0xffffffff),
  mask: z.number().int().min(1).max(0xffffffff),
  table: z.number().int().min(1).max(0xffffffff),
});
export type IpRule = z.infer<typeof ipRule>;

export const route = z.strictObject({
  table: z.number().int().min(1).max(0xffffffff),
  to: z.literal("default"),
  via: ipAddress,
  dev: interfaceName,
});
export type Route = z.infer<typeof route>;

/** Fields of the node-wide `fos1_config` map that this program sets; the agent merges programs' settings. */
export const configSettings = z.strictObject({
  sample_one_in: z.number().int().min(1).max(1_000_000).optional(),
  reinspect_after_ns: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  fwmark_mask: z.number().int().min(1).max(0xffffffff).optional(),
  inspect_all: z.boolean().optional(),
  mirror_interface: interfaceName.optional(),
});
export type ConfigSettings = z.infer<typeof configSettings>;

const appRef = z.strictObject({ app: name, appId: z.number().int().min(1).max(65534) });

/** What the agent decides at run time, when inspection reports a flow. */
export const runtimeTables = z.strictObject({
  firewall: z
    .strictObject({
      riskThreshold: z.number().int().min(0).max(100),
      blockScope: z.enum(["source", "destination", "flow"]),
      blockTtlMs: z.number().int().min(1),
      appControl: z.array(
        z.strictObject({
          rule: name,
          action: z.enum(["allow", "deny"]),
          apps: z.array(appRef),
          /** Segment ids the rule applies to; absent: every source. */
          segmentIds: z.array(z.number().int().min(1)).optional(),
        }),
      ),
    })
    .optional(),
  fastPath: z
    .strictObject({
      offload: z.array(
        z.strictObject({ rule: name, apps: z.array(appRef), minInspectedPackets: z.number().int().min(1) }),
      ),
      watchDomains: z.array(z.string().max(253)),
      /** Interfaces of critical zones: flows entering there are never offloaded. */
      criticalInterfaces: z.array(interfaceName),
      underLoad: z
        .strictObject({ thresholdPps: z.number().int().min(1), sampleOneIn: z.number().int().min(2) })
        .optional(),
    })
    .optional(),
  qos: z
    .strictObject({
      /** The classes by id, for reports and metrics: the kernel maps only carry ids. */
      classes: z.array(z.strictObject({ classId: z.number().int().min(1), name })),
    })
    .optional(),
  routing: z
    .strictObject({
      /** The uplinks this program routes to: which mark selects which table and device. */
      uplinks: z.array(
        z.strictObject({
          name,
          mark: z.number().int().min(1),
          table: z.number().int().min(1),
          device: interfaceName,
        }),
      ),
    })
    .optional(),
  sensor: z
    .strictObject({
      engines: z.array(z.enum(["suricata", "zeek", "nprobe", "ndpi"])),
      selectPrefixes: z.array(cidr),
    })
    .optional(),
});
export type RuntimeTables = z.infer<typeof runtimeTables>;

export const nodeProgramSpec = z.strictObject({
  config: configSettings,
  /** eBPF map name -> entries this program owns in it, sorted by key. */
  maps: z.record(z.string().regex(MAP_LIMITS.name), z.array(mapEntry).max(MAP_LIMITS.entries)),
  nftables: z
    .strictObject({ table: z.string().regex(/^fos1_[a-z0-9_]+$/), ruleset: z.string().max(1_000_000) })
    .optional(),
  tc: z.array(tcDevice).max(64),
  ipRules: z.array(ipRule).max(1024),
  routes: z.array(route).max(1024),
  runtime: runtimeTables,
});
export type NodeProgramSpec = z.infer<typeof nodeProgramSpec>;

export const nodeProgramMetadata = z.strictObject({
  /** Owner name: `<kind>-<policy name>`; the agent's unit of ownership. */
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .max(80),
  site: name,
  node: name,
  source: z.strictObject({ kind: z.string().max(32), name }),
});

export const nodeProgram = z.strictObject({
  apiVersion: z.literal(NODE_PROGRAM_API_VERSION),
  kind: z.literal("NodeProgram"),
  metadata: nodeProgramMetadata,
  spec: nodeProgramSpec,
  /** sha256 of the canonical JSON of metadata and spec. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type NodeProgram = z.infer<typeof nodeProgram>;

export function programHash(metadata: NodeProgram["metadata"], spec: NodeProgramSpec): string {
  return sha256(canonicalJson({ metadata, spec }));
}

/** True when `program.hash` matches its content: a body was not edited after compiling. */
export function hashMatches(program: NodeProgram): boolean {
  return programHash(program.metadata, program.spec) === program.hash;
}
