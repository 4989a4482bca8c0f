import { decode, type Flow, type FlowKey } from "../../../sdk/abi/codec";
import { join } from "node:path";
import {
  CAPACITY,
  FLOW_F_ANOMALY,
  FLOW_F_APP_DENIED,
  FlowState,
  MAP_NAMES,
  PROGRAMS,
  STATS,
  type MapName,
  type StatName,
} from "../../../sdk/abi/constants";
import { FLOW_PATCH_BATCH, LAYOUTS } from "../../../sdk/abi/layout";
import { addrKeys, flowKeys, FLOW_KEY_SIZE } from "./key-bytes";
import type { NativeBpf } from "./native";
import { PinnedMap } from "./pinned-map";

/** What a block matches: the source address, the destination address, or one flow (both directions). */
export type BlockScope = "source" | "destination" | "flow";

export interface Block<T> {
  readonly target: T;
  /** CLOCK_MONOTONIC ns (see `monotonicNs`); 0n = never. */
  readonly expiresNs: bigint;
  /** Agent-defined reason code, for reports. */
  readonly reason: number;
}

/** Addresses for source/destination blocks, normalised flow keys (sdk/abi `flowKeyOf`) for flow blocks. */
export type BlockTarget<S extends BlockScope> = S extends "flow" ? FlowKey : string;

/** The clock the programs compare times against (bpf_ktime_get_coarse_ns is CLOCK_MONOTONIC). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

const size = (s: keyof typeof LAYOUTS) => LAYOUTS[s].size;
const at = (s: keyof typeof LAYOUTS, c: string) => LAYOUTS[s].fields.find((f) => f.c === c)!.offset;

const FLOW = {
  size: size("flow"),
  state: at("flow", "state"),
  flags: at("flow", "flags"),
  appId: at("flow", "app_id"),
  classId: at("flow", "class_id"),
  deadline: at("flow", "offload_deadline_ns"),
};
const CONFIG = { size: size("config"), generation: at("config", "block_generation") };
/** Key of the one entry of fos1_config and fos1_flow_patch. */
const ONLY_ENTRY = Buffer.alloc(4);

/** The bytes of `patch` that a flow patch replaces; the rest is the programs'. */
function flowMask(parts: {
  state?: true;
  appId?: true;
  classId?: true;
  deadline?: true;
  anomaly?: true;
}): Buffer {
  const mask = Buffer.alloc(FLOW.size);
  if (parts.state) mask.fill(0xff, FLOW.state, FLOW.state + 4);
  if (parts.appId) mask.fill(0xff, FLOW.appId, FLOW.appId + 4);
  if (parts.classId) mask.fill(0xff, FLOW.classId, FLOW.classId + 4);
  if (parts.deadline) mask.fill(0xff, FLOW.deadline, FLOW.deadline + 8);
  if (parts.anomaly) mask.writeUInt32LE(FLOW_F_ANOMALY, FLOW.flags);
  return mask;
}

const OFFLOAD_MASK = flowMask({ state: true, appId: true, deadline: true, anomaly: true });
const INSPECT_MASK = flowMask({ state: true });
const INSPECT_ANOMALY_MASK = flowMask({ state: true, anomaly: true });
const CLASSIFY_MASK = flowMask({ appId: true, classId: true });

/** What a flow write found: how many of the keys had an entry, and which. */
export interface FlowsPatched {
  readonly count: number;
  /** One byte per key, in order: 1 where the flow existed and was changed. */
  readonly found: Buffer;
}

/** A block as the maps hold it. */
export interface BlockEntry<S extends BlockScope = BlockScope> {
  readonly scope: S;
  readonly target: BlockTarget<S>;
  readonly expiresNs: bigint;
  readonly reason: number;
}

/** A block map entry's key and `struct fos1_block` value, decoded. */
function blockEntry(scope: BlockScope, key: Buffer, value: Buffer): BlockEntry {
  return {
    scope,
    target: scope === "flow" ? decode("flowKey", key) : decode("addr", key).addr,
    expiresNs: value.readBigUInt64LE(0),
    reason: value.readUInt32LE(8),
  } as BlockEntry;
}

/** Per-map entry counts, for fill-level metrics. */
export interface FillLevel {
  readonly map: MapName;
  readonly entries: number;
  readonly capacity: number;
}

function count(found: Buffer): number {
  let n = 0;
  for (const b of found) n += b;
  return n;
}

/**
 * The agent's writers of runtime state (never policy, never drift): blocks,
 * flow verdicts, the application -> destination cache, and the reads behind
 * the flow and fill-level metrics. Each call is one batch of syscalls through
 * the libbpf addon and keeps the rules of bpf/README.md: every block write is
 * followed by one `block_generation` increment; flow changes are patched
 * in place in the kernel, only the members the agent owns.
 */
export class RuntimeMaps {
  private constructor(
    private readonly bpf: NativeBpf,
    private readonly config: PinnedMap,
    private readonly flows: PinnedMap,
    private readonly blocks: Record<BlockScope, PinnedMap>,
    private readonly appDest: PinnedMap,
    private readonly stats: PinnedMap,
    private readonly flowPatch: { readonly batch: PinnedMap; readonly program: number },
  ) {}

  /** The batch written to fos1_flow_patch, kept: 217 KiB, and a verdict pipeline patches a few flows at a time. */
  private readonly patchBatch = Buffer.alloc(FLOW_PATCH_BATCH.size);

  /** Opens the pinned runtime maps and the flow patch program under `pinRoot` (loaded by the agent's loader). */
  static open(bpf: NativeBpf, pinRoot: string): RuntimeMaps {
    const open = (name: MapName, key: number, value: number) =>
      PinnedMap.open(bpf, pinRoot, name, { key, value });
    const block = size("block");
    return new RuntimeMaps(
      bpf,
      open(MAP_NAMES.config, 4, CONFIG.size),
      open(MAP_NAMES.flows, FLOW_KEY_SIZE, FLOW.size),
      {
        source: open(MAP_NAMES.blockSrc, size("addr"), block),
        destination: open(MAP_NAMES.blockDst, size("addr"), block),
        flow: open(MAP_NAMES.blockFlow, FLOW_KEY_SIZE, block),
      },
      open(MAP_NAMES.appDest, size("addr"), size("appDest")),
      open(MAP_NAMES.stats, 4, 8),
      {
        batch: open(MAP_NAMES.flowPatch, 4, FLOW_PATCH_BATCH.size),
        program: bpf.objGet(join(pinRoot, "progs", PROGRAMS.flowPatch.name)),
      },
    );
  }

  /** Adds or renews blocks (one batch), then increments `block_generation` once. Returns entries written. */
  addBlocks<S extends BlockScope>(scope: S, blocks: readonly Block<BlockTarget<S>>[]): number {
    if (blocks.length === 0) return 0;
    const keys = this.blockKeys(
      scope,
      blocks.map((b) => b.target),
    );
    const values = Buffer.alloc(blocks.length * size("block"));
    blocks.forEach((b, i) => {
      values.writeBigUInt64LE(b.expiresNs, i * 16);
      values.writeUInt32LE(b.reason, i * 16 + 8);
    });
    const written = this.blocks[scope].upsertBatch(keys, values, blocks.length);
    this.bumpBlockGeneration();
    return written;
  }

  /**
   * Removes blocks; returns how many existed. Flows the programs already
   * marked BLOCKED stay blocked until they leave the flow table or are
   * returned with `returnToInspect`.
   */
  removeBlocks<S extends BlockScope>(scope: S, targets: readonly BlockTarget<S>[]): number {
    const removed = this.blocks[scope].deleteBatch(this.blockKeys(scope, targets), targets.length);
    if (removed > 0) this.bumpBlockGeneration();
    return removed;
  }

  /** Deletes blocks whose expiry has passed (the programs ignore them but never delete them); returns them. */
  pruneExpiredBlocks(nowNs: bigint = monotonicNs()): BlockEntry[] {
    const out: BlockEntry[] = [];
    for (const scope of ["source", "destination", "flow"] as const) {
      const map = this.blocks[scope];
      const expired = this.expiredKeys(map, 0, nowNs);
      if (expired.length === 0) continue;
      for (const { key, value } of expired) out.push(blockEntry(scope, key, value));
      map.delete(expired.map((e) => e.key));
    }
    return out;
  }

  /**
   * Moves existing flows to the fast path: state OFFLOADED, the application,
   * ANOMALY cleared, a fresh re-inspection deadline (set by the first
   * fast-path packet). Returns how many flows existed; the programs still
   * refuse the fast path where the policy or the flow forbids it.
   */
  offloadFlows(flows: readonly { readonly key: FlowKey; readonly appId: number }[]): FlowsPatched {
    const patches = Buffer.alloc(flows.length * FLOW.size);
    flows.forEach((f, i) => {
      patches.writeUInt32LE(FlowState.OFFLOADED, i * FLOW.size + FLOW.state);
      patches.writeUInt32LE(f.appId, i * FLOW.size + FLOW.appId);
    });
    return this.patchFlows(
      flows.map((f) => f.key),
      patches,
      OFFLOAD_MASK,
    );
  }

  /** Returns flows to the slow path; with `anomaly` they also may not be offloaded again until re-offloaded explicitly. */
  returnToInspect(keys: readonly FlowKey[], options: { readonly anomaly?: boolean } = {}): FlowsPatched {
    const patches = Buffer.alloc(keys.length * FLOW.size);
    if (options.anomaly)
      keys.forEach((_, i) => patches.writeUInt32LE(FLOW_F_ANOMALY, i * FLOW.size + FLOW.flags));
    return this.patchFlows(keys, patches, options.anomaly ? INSPECT_ANOMALY_MASK : INSPECT_MASK);
  }

  /** Names the application of flows inspection classified (classId 0: the class of the app's policy). */
  classifyFlows(
    flows: readonly { readonly key: FlowKey; readonly appId: number; readonly classId?: number }[],
  ): FlowsPatched {
    const patches = Buffer.alloc(flows.length * FLOW.size);
    flows.forEach((f, i) => {
      patches.writeUInt32LE(f.appId, i * FLOW.size + FLOW.appId);
      patches.writeUInt32LE(f.classId ?? 0, i * FLOW.size + FLOW.classId);
    });
    return this.patchFlows(
      flows.map((f) => f.key),
      patches,
      CLASSIFY_MASK,
    );
  }

  /** Learns (or renews) destinations of applications, read at a flow's first packet for its route. */
  learnDestinations(
    entries: readonly { readonly addr: string; readonly appId: number; readonly expiresNs: bigint }[],
  ): number {
    const values = Buffer.alloc(entries.length * size("appDest"));
    entries.forEach((e, i) => {
      values.writeUInt32LE(e.appId, i * 16);
      values.writeBigUInt64LE(e.expiresNs, i * 16 + 8);
    });
    return this.appDest.upsertBatch(addrKeys(entries.map((e) => e.addr)), values, entries.length);
  }

  forgetDestinations(addrs: readonly string[]): number {
    return this.appDest.deleteBatch(addrKeys(addrs), addrs.length);
  }

  /** Deletes destinations whose TTL has passed. */
  pruneExpiredDestinations(nowNs: bigint = monotonicNs()): number {
    return this.pruneExpired(this.appDest, 8, nowNs);
  }

  /** Flows in the table per state, for the flows-per-state metric. */
  flowsByState(): Record<"inspect" | "offloaded" | "blocked", number> {
    const { values, count: n } = this.flows.dump();
    const out = { inspect: 0, offloaded: 0, blocked: 0 };
    for (let i = 0; i < n; i++) {
      const state = values.readUInt32LE(i * FLOW.size + FLOW.state);
      if (state === FlowState.OFFLOADED) out.offloaded++;
      else if (state === FlowState.BLOCKED) out.blocked++;
      else out.inspect++;
    }
    return out;
  }

  /** The flow table, decoded; at most `limit` entries, with the table's size. */
  flowEntries(limit = Infinity): { entries: { key: FlowKey; flow: Flow }[]; total: number } {
    const dump = this.flows.dump();
    const entries = this.flows
      .entries(dump)
      .slice(0, Math.min(limit, dump.count))
      .map((e) => ({ key: decode("flowKey", e.key), flow: decode("flow", e.value) }));
    return { entries, total: dump.count };
  }

  /** Packets seen so far (both directions) and flags per flow, undefined where the flow is not in the table. */
  flowFacts(keys: readonly FlowKey[]): ({ packets: bigint; flags: number } | undefined)[] {
    const packets = at("flow", "packets");
    return keys.map((k) => {
      const value = this.flows.lookup(flowKeys([k]));
      return (
        value && {
          packets: value.readBigUInt64LE(packets) + value.readBigUInt64LE(packets + 8),
          flags: value.readUInt32LE(FLOW.flags),
        }
      );
    });
  }

  /**
   * Returns BLOCKED flows that `released` names to INSPECT and bumps
   * `block_generation`, so each re-reads the blocks at its next packet: a
   * flow another block still covers is blocked again, the rest pass. This is
   * how a lifted or expired block lets its flows through. A flow the kernel's
   * application-control deny stopped is not a block's to release.
   */
  releaseBlockedFlows(released: (key: FlowKey) => boolean): number {
    const keys = this.flows
      .entries()
      .filter(
        (e) =>
          e.value.readUInt32LE(FLOW.state) === FlowState.BLOCKED &&
          (e.value.readUInt32LE(FLOW.flags) & FLOW_F_APP_DENIED) === 0,
      )
      .map((e) => decode("flowKey", e.key))
      .filter(released);
    const n = keys.length === 0 ? 0 : this.returnToInspect(keys).count;
    if (n > 0) this.bumpBlockGeneration();
    return n;
  }

  /** Every block in the maps, expired ones included until pruned. */
  blockEntries(): BlockEntry[] {
    const out: BlockEntry[] = [];
    for (const scope of ["source", "destination", "flow"] as const) {
      for (const e of this.blocks[scope].entries()) out.push(blockEntry(scope, e.key, e.value));
    }
    return out;
  }

  /** Entries and capacity of every runtime map. */
  fillLevels(): FillLevel[] {
    const level = (map: PinnedMap, capacity: number): FillLevel => ({
      map: map.name,
      entries: map.dump().count,
      capacity,
    });
    return [
      level(this.flows, CAPACITY.flows),
      ...Object.values(this.blocks).map((m) => level(m, CAPACITY.blocks)),
      level(this.appDest, CAPACITY.appDest),
    ];
  }

  /** The programs' counters, summed over CPUs. */
  counters(): Record<StatName, bigint> {
    const { keys, values, count: n } = this.stats.dump();
    const slots = n === 0 ? 0 : values.length / n / 8;
    const out = Object.fromEntries(STATS.map((s) => [s, 0n])) as Record<StatName, bigint>;
    for (let i = 0; i < n; i++) {
      const name = STATS[keys.readUInt32LE(i * 4)];
      if (!name) continue;
      for (let cpu = 0; cpu < slots; cpu++) out[name] += values.readBigUInt64LE((i * slots + cpu) * 8);
    }
    return out;
  }

  /** Sets the offload lease: the fast path stops by itself at `untilNs` unless renewed. */
  setOffloadLease(untilNs: bigint): void {
    this.patchConfig("offload_lease_until_ns", untilNs);
  }

  /**
   * Load shedding: with `oneIn` > 1, INSPECT flows that are not critical,
   * watched or anomalous mirror 1 packet in `oneIn` after their first
   * LOAD_SHED_AFTER_PACKETS; 0 or 1 mirrors every packet again at once.
   * Writes `load_sample_one_in` and nothing else.
   */
  setLoadSampling(oneIn: number): void {
    if (!Number.isInteger(oneIn) || oneIn < 0 || oneIn > 0xffffffff)
      throw new Error(`fos1_config.load_sample_one_in: ${oneIn} is not an integer in 0..4294967295`);
    this.patchConfig("load_sample_one_in", oneIn);
  }

  /**
   * How long the fast path reuses a flow's FIB result (next hop, MACs, MTU)
   * before looking the route up again; 0 looks it up for every packet.
   * Writes `nexthop_ttl_ns` and nothing else.
   */
  setNexthopTtl(ttlNs: bigint): void {
    this.patchConfig("nexthop_ttl_ns", ttlNs);
  }

  close(): void {
    const maps = [this.config, this.flows, ...Object.values(this.blocks), this.appDest, this.stats];
    for (const m of [...maps, this.flowPatch.batch]) m.close();
    this.bpf.close(this.flowPatch.program);
  }

  /** Writes one runtime member of fos1_config (a u64 as a bigint, a u32 as a number) and leaves every other byte. */
  private patchConfig(
    member: "offload_lease_until_ns" | "nexthop_ttl_ns" | "load_sample_one_in",
    value: bigint | number,
  ): void {
    const mask = Buffer.alloc(CONFIG.size);
    const patch = Buffer.alloc(CONFIG.size);
    const offset = at("config", member);
    if (typeof value === "bigint") {
      mask.fill(0xff, offset, offset + 8);
      patch.writeBigUInt64LE(value, offset);
    } else {
      mask.fill(0xff, offset, offset + 4);
      patch.writeUInt32LE(value, offset);
    }
    this.config.patch(ONLY_ENTRY, patch, 1, mask);
  }

  private blockKeys(scope: BlockScope, targets: readonly (string | FlowKey)[]): Buffer {
    return scope === "flow" ? flowKeys(targets as FlowKey[]) : addrKeys(targets as string[]);
  }

  /**
   * Patches flows in place in the kernel (bpf/src/flow_patch.c), a batch of
   * FLOW_PATCH_BATCH.max per program run: the programs' counters and caches
   * are never read out and written back, so nothing they count meanwhile is lost.
   */
  private patchFlows(keys: readonly FlowKey[], patches: Buffer, mask: Buffer): FlowsPatched {
    const B = FLOW_PATCH_BATCH;
    const found = Buffer.alloc(keys.length);
    const keyBytes = flowKeys(keys);
    const batch = this.patchBatch;
    mask.copy(batch, B.mask);
    for (let base = 0; base < keys.length; base += B.max) {
      const n = Math.min(B.max, keys.length - base);
      batch.writeUInt32LE(n, B.count);
      keyBytes.copy(batch, B.keys, base * FLOW_KEY_SIZE, (base + n) * FLOW_KEY_SIZE);
      patches.copy(batch, B.patches, base * FLOW.size, (base + n) * FLOW.size);
      this.flowPatch.batch.upsertBatch(ONLY_ENTRY, batch, 1);
      const ret = this.bpf.progRun(this.flowPatch.program);
      if (ret !== 0) throw new Error(`${PROGRAMS.flowPatch.name} refused a batch of ${n} (returned ${ret})`);
      this.flowPatch.batch.lookup(ONLY_ENTRY)!.copy(found, base, B.found, B.found + n);
    }
    return { count: count(found), found };
  }

  /**
   * The programs never write fos1_config and this process writes it only in
   * synchronous calls, so reading and writing the generation back here cannot
   * lose another writer's change.
   */
  private bumpBlockGeneration(): void {
    const value = this.config.lookup(ONLY_ENTRY)!;
    value.writeUInt32LE((value.readUInt32LE(CONFIG.generation) + 1) >>> 0, CONFIG.generation);
    this.config.upsertBatch(ONLY_ENTRY, value, 1);
  }

  /** Deletes entries whose u64 expiry (at `offset` in the value) is set and has passed. */
  private pruneExpired(map: PinnedMap, offset: number, nowNs: bigint): number {
    const expired = this.expiredKeys(map, offset, nowNs);
    return expired.length === 0 ? 0 : map.delete(expired.map((e) => e.key));
  }

  /**
   * Entries whose u64 expiry (at `offset` in the value) is set and has
   * passed. Runs every maintenance tick on the agent's event loop, so it reads
   * the dump's bytes in place and makes objects only for what expired.
   */
  private expiredKeys(map: PinnedMap, offset: number, nowNs: bigint): { key: Buffer; value: Buffer }[] {
    const { keys, values, count: n } = map.dump();
    if (n === 0) return [];
    const ks = keys.length / n;
    const vs = values.length / n;
    const out: { key: Buffer; value: Buffer }[] = [];
    for (let i = 0; i < n; i++) {
      const expires = values.readBigUInt64LE(i * vs + offset);
      if (expires !== 0n && expires <= nowNs)
        out.push({ key: keys.subarray(i * ks, (i + 1) * ks), value: values.subarray(i * vs, (i + 1) * vs) });
    }
    return out;
  }
}
