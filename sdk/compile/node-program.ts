import { createHash } from "node:crypto";
import { z } from "zod";
import { cidr, interfaceName, ipAddress, name } from "../schema/quantities";
import { canonicalCopy } from "./canonical";

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

/**
 * The NodeProgram of `metadata` and `spec`, with its hash. Its objects hold
 * their keys in canonical order, so JSON.stringify of it is canonical JSON:
 * an agent checks the hash of a body sent that way with one native stringify
 * per map (see `programHash`) instead of walking 100k entries.
 */
export function sealProgram(metadata: NodeProgram["metadata"], spec: NodeProgramSpec): NodeProgram {
  const sorted = canonicalCopy({ metadata, spec });
  return {
    apiVersion: NODE_PROGRAM_API_VERSION,
    kind: "NodeProgram",
    metadata: sorted.metadata,
    spec: sorted.spec,
    hash: programHash(sorted.metadata, sorted.spec),
  };
}

/**
 * sha256 of `canonicalJson({ metadata, spec })`, with the JSON written straight
 * into the hash. canonicalJson builds a sorted copy of every object and then
 * one string of the whole program: for 100k map entries that garbage costs
 * more than hashing, and the agent hashes every program PUT to it.
 */
export function programHash(metadata: NodeProgram["metadata"], spec: NodeProgramSpec): string {
  const out = new HashWriter();
  writeCanonical({ metadata, spec }, out);
  return out.digest();
}

/** Text hashed in pieces of about 64 KiB; a piece is never split, so a surrogate pair stays whole. */
class HashWriter {
  private readonly hash = createHash("sha256");
  private pending = "";

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= 65_536) {
      this.hash.update(this.pending);
      this.pending = "";
    }
  }

  /** Text hashed at once, after what is pending. */
  writeLarge(text: string): void {
    this.hash.update(this.pending);
    this.pending = "";
    this.hash.update(text);
  }

  digest(): string {
    this.hash.update(this.pending);
    return this.hash.digest("hex");
  }
}

/** The text canonicalJson gives for JSON data (objects of any prototype are written as their own keys, as it does). */
function writeCanonical(value: unknown, out: HashWriter): void {
  if (typeof value === "number") {
    // JSON.stringify's number form, without its generic entry: a map entry is mostly numbers.
    out.write(Number.isFinite(value) ? String(value) : "null");
    return;
  }
  if (typeof value !== "object" || value === null) {
    out.write(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    if (stringifiesCanonically(value, 0)) {
      out.writeLarge(JSON.stringify(value));
      return;
    }
    out.write("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.write(",");
      const item: unknown = value[i];
      if (omitted(item)) out.write("null");
      else writeCanonical(item, out);
    }
    out.write("]");
    return;
  }
  const record = value as Record<string, unknown>;
  let first = true;
  for (const key of canonicalKeyOrder(Object.keys(record))) {
    const item = record[key];
    if (omitted(item)) continue;
    out.write(first ? "{" : ",");
    out.write(quotedKey(key));
    first = false;
    writeCanonical(item, out);
  }
  out.write(first ? "{}" : "}");
}

/**
 * True when JSON.stringify writes `value` as canonicalJson does: it holds
 * only JSON scalars, arrays without holes and plain objects whose keys
 * enumerate in ascending code-unit order, which is then where canonicalJson
 * puts them too (array-index keys enumerate first, in numeric order, and
 * ascend only when that order is theirs). Programs made by `sealProgram`, and
 * PUT bodies of them, pass; anything else fails at its first unsorted object
 * and is walked. Deep values are left to the walk.
 */
function stringifiesCanonically(value: unknown, depth: number): boolean {
  if (typeof value !== "object")
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
  if (value === null) return true;
  if (depth > 8) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !stringifiesCanonically(value[i], depth + 1)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key in record) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!stringifiesCanonically(record[key], depth + 1)) return false;
    previous = key;
  }
  return true;
}

/**
 * Sorted keys as canonicalJson's rebuilt objects hold them: array-index keys
 * ("0", "10") come first in numeric order in every JavaScript object, and
 * `Object.keys` already lists them that way; the other keys sorted.
 */
function canonicalKeyOrder(keys: string[]): string[] {
  if (keys.length < 2) return keys;
  if (keys.length === 2 && !isArrayIndex(keys[0]!)) {
    // Most records of a map entry have two fields; `<` orders by code unit, as sort() does.
    return keys[1]! < keys[0]! ? [keys[1]!, keys[0]!] : keys;
  }
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices]!)) indices++;
  if (indices === 0) return keys.sort();
  return keys.slice(0, indices).concat(keys.slice(indices).sort());
}

function isArrayIndex(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 48 && first <= 57 && /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;
}

/** Member names repeat in every map entry (`app_id`, `class_id`); their JSON forms are kept, up to a bound. */
const QUOTED = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = QUOTED.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key) + ":";
    if (QUOTED.size < 1024) QUOTED.set(key, quoted);
  }
  return quoted;
}

/** Values JSON.stringify leaves out of objects (and writes as null in arrays). */
const omitted = (v: unknown): boolean => v === undefined || typeof v === "function" || typeof v === "symbol";

/** True when `program.hash` matches its content: a body was not edited after compiling. */
export function hashMatches(program: NodeProgram): boolean {
  return programHash(program.metadata, program.spec) === program.hash;
}
