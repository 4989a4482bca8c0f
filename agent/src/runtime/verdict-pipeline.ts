import type { FlowKey } from "../../../sdk/abi/codec";
import { FLOW_F_ANOMALY } from "../../../sdk/abi/constants";
import { decide, flowKeyOfRef, type Decision, type NodePolicy } from "../../../sdk/decide";
import type { DpiEvent } from "../../../sdk/events";
import { monotonicNs, type Block, type BlockScope, type BlockTarget } from "../bpf/runtime-maps";
import type { IngestMetrics } from "../ingest";
import type { Logger } from "../log";
import { BLOCK_REASON, type VerdictMaps } from "./verdict-maps";

type BlockDecision = Extract<Decision, { kind: "block" }>;
type DestinationDecision = Extract<Decision, { kind: "learn-destination" }>;
type FlowDecision = Extract<Decision, { kind: "classify" | "offload" | "inspect" }>;

/** Where decisions worth sharing go: the site's etcd, when the agent has one. */
export interface VerdictPublisher {
  block(decision: BlockDecision): void;
  destination(decision: DestinationDecision): void;
}

export interface VerdictPipelineOptions {
  readonly policy: () => NodePolicy;
  /** The runtime maps; undefined without the eBPF data plane: decisions are counted, nothing is enforced. */
  readonly maps?: VerdictMaps;
  readonly publisher?: VerdictPublisher;
  readonly metrics: IngestMetrics;
  /** Called with every event and what was decided, for the alert log. */
  readonly alerts?: (event: DpiEvent, decisions: readonly Decision[]) => void;
  readonly log: Logger;
  /** How long a flow decision waits for its flow to appear in the table (or to reach its packet minimum). */
  readonly flowWaitMs: number;
  /** Most flow decisions kept waiting; beyond it the oldest are dropped and counted. @default 100000 */
  readonly maxPending?: number;
}

interface Pending {
  readonly decision: FlowDecision;
  readonly key: FlowKey;
  readonly untilNs: bigint;
}

const MS = 1_000_000n;

function ns(ms: number): bigint {
  return BigInt(Math.round(ms)) * MS;
}

function keyText(k: FlowKey): string {
  return `${k.proto}|${k.addrA}|${k.portA}|${k.addrB}|${k.portB}|${k.vlanId}`;
}

function vlanOf(event: DpiEvent): number {
  return event.flow.vlan?.[0] ?? 0;
}

/**
 * Turns DPI events into verdicts in the kernel: the sink every ingest source
 * feeds. Each batch is decided against the node's policy and written in as
 * few map batches as there are kinds of decision, blocks first, before the
 * sink resolves; so when a source hands over an alert line, the block is in
 * the maps by the time the next line is read. Flow decisions for flows not
 * (yet) in the table wait briefly, since a sensor on the mirror may report a
 * flow before its first packet's table write is visible, and offloads wait
 * for the policy's minimum of inspected packets.
 */
export class VerdictPipeline {
  readonly sink = (events: DpiEvent[]): Promise<void> => {
    this.handle(events);
    return Promise.resolve();
  };

  private readonly pending = new Map<string, Pending>();
  private readonly applied = new Map<string, number>();
  private missed = 0;
  private readonly maxPending: number;

  constructor(private readonly options: VerdictPipelineOptions) {
    this.maxPending = options.maxPending ?? 100_000;
  }

  get enforcing(): boolean {
    return this.options.maps !== undefined;
  }

  /** Decisions applied per kind, flow decisions that never found their flow, and those still waiting. */
  stats(): { decisions: Record<string, number>; missedFlows: number; pendingOffloads: number } {
    let pendingOffloads = 0;
    for (const p of this.pending.values()) if (p.decision.kind === "offload") pendingOffloads++;
    return { decisions: Object.fromEntries(this.applied), missedFlows: this.missed, pendingOffloads };
  }

  /** Decides and applies one batch; synchronous, so nothing interleaves with a batch. */
  handle(events: readonly DpiEvent[]): void {
    const policy = this.options.policy();
    const blocks: BlockDecision[] = [];
    const destinations: DestinationDecision[] = [];
    const flows: { decision: FlowDecision; key: FlowKey }[] = [];
    for (const event of events) {
      const decisions = decide(event, policy);
      this.options.metrics.countEvent(event);
      this.options.metrics.countDecisions(event, decisions);
      this.options.alerts?.(event, decisions);
      for (const d of decisions) {
        if (d.kind === "block") blocks.push(d);
        else if (d.kind === "learn-destination") destinations.push(d);
        else flows.push({ decision: d, key: flowKeyOfRef(d.flow, vlanOf(event)) });
      }
    }
    const maps = this.options.maps;
    if (blocks.length > 0) {
      if (maps) this.writeBlocks(maps, blocks);
      for (const b of blocks) this.options.publisher?.block(b);
    }
    if (destinations.length > 0) {
      if (maps) {
        const now = monotonicNs();
        maps.learnDestinations(
          destinations.map((d) => ({ addr: d.address, appId: d.appId, expiresNs: now + ns(d.ttlMs) })),
        );
        this.count("learn-destination", destinations.length);
      }
      for (const d of destinations) this.options.publisher?.destination(d);
    }
    if (maps && flows.length > 0) {
      const untilNs = monotonicNs() + ns(this.options.flowWaitMs);
      this.writeFlows(
        maps,
        flows.map((f) => ({ ...f, untilNs })),
      );
    }
  }

  /** Retries flow decisions that were waiting; the agent calls it on a short timer. */
  retryPending(): void {
    const maps = this.options.maps;
    if (!maps || this.pending.size === 0) return;
    const due = [...this.pending.values()];
    this.pending.clear();
    this.writeFlows(maps, due);
  }

  private writeBlocks(maps: VerdictMaps, blocks: readonly BlockDecision[]): void {
    const now = monotonicNs();
    const by: { [S in BlockScope]: Block<BlockTarget<S>>[] } = { source: [], destination: [], flow: [] };
    for (const d of blocks) {
      const expiresNs = d.ttlMs > 0 ? now + ns(d.ttlMs) : 0n;
      const reason = BLOCK_REASON[d.cause];
      const t = d.target;
      if (t.scope === "flow") by.flow.push({ target: flowKeyOfRef(t.flow), expiresNs, reason });
      else by[t.scope].push({ target: t.address, expiresNs, reason });
    }
    maps.addBlocks("source", by.source);
    maps.addBlocks("destination", by.destination);
    maps.addBlocks("flow", by.flow);
    this.count("block", blocks.length);
  }

  private writeFlows(maps: VerdictMaps, items: readonly (Pending & { decision: FlowDecision })[]): void {
    const now = monotonicNs();
    const inspect = items.filter((i) => i.decision.kind === "inspect");
    const classify = items.filter((i) => i.decision.kind === "classify");
    const offload = items.filter((i) => i.decision.kind === "offload");

    // Back to the slow path first: an anomaly outranks a clearance in the same batch.
    if (inspect.length > 0) {
      const found = maps.returnToInspect(
        inspect.map((i) => i.key),
        { anomaly: true },
      ).found;
      this.settle(inspect, found, now, "inspect");
    }
    if (classify.length > 0) {
      const found = maps.classifyFlows(
        classify.map((i) => {
          const d = i.decision as Extract<FlowDecision, { kind: "classify" }>;
          return { key: i.key, appId: d.appId, classId: d.class.classId };
        }),
      ).found;
      this.settle(classify, found, now, "classify");
    }
    if (offload.length > 0) {
      const facts = maps.flowFacts(offload.map((i) => i.key));
      const ready = offload.filter((item, i) => {
        const d = item.decision as Extract<FlowDecision, { kind: "offload" }>;
        const flow = facts[i];
        // An anomaly keeps a flow on the slow path for the rest of its life, whatever is said later.
        if (flow && (flow.flags & FLOW_F_ANOMALY) !== 0) {
          this.count("offload-refused", 1);
          return false;
        }
        if (flow && flow.packets >= BigInt(d.notBeforePackets)) return true;
        this.wait(item, now);
        return false;
      });
      if (ready.length > 0) {
        const found = maps.offloadFlows(
          ready.map((i) => ({
            key: i.key,
            appId: (i.decision as Extract<FlowDecision, { kind: "offload" }>).appId,
          })),
        ).found;
        this.settle(ready, found, now, "offload");
      }
    }
  }

  private settle(items: readonly Pending[], found: Buffer, now: bigint, kind: string): void {
    let applied = 0;
    items.forEach((item, i) => {
      if (found[i]) applied++;
      else this.wait(item, now);
    });
    this.count(kind, applied);
  }

  private wait(item: Pending, now: bigint): void {
    if (item.untilNs <= now) {
      this.missed++;
      return;
    }
    // The newest decision for a flow replaces an older one of the same kind.
    const id = `${item.decision.kind}|${keyText(item.key)}`;
    this.pending.delete(id);
    this.pending.set(id, item);
    if (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.missed++;
    }
  }

  private count(kind: string, n: number): void {
    if (n > 0) this.applied.set(kind, (this.applied.get(kind) ?? 0) + n);
  }
}
