import type { FlowKey } from "../../../sdk/abi/codec";
import { flowKeyOfRef } from "../../../sdk/decide";
import type { RuntimeStatus } from "../../../sdk/agent-api/runtime";
import { monotonicNs } from "../bpf/runtime-maps";
import {
  canonicalAddress,
  ClusterMetrics,
  ClusterState,
  type Change,
  type ClusterBlock,
  type ClusterConfig,
  type ClusterDestination,
} from "../cluster";
import { alertLineWriter, IngestMetrics, type IngestSource } from "../ingest";
import type { Logger } from "../log";
import type { AgentMetrics } from "../metrics";
import type { IngestConfig } from "./ingest-config";
import { ConntrackLiberal } from "./conntrack-liberal";
import { createIngestSources } from "./ingest-sources";
import { LoadSampler } from "./load-sampler";
import { inClusterEndpoint, type KubernetesEndpoint } from "../kubernetes/api";
import { KubernetesEvents } from "./kubernetes-events";
import { PolicyView, type ProgramSource } from "./policy-view";
import { RuntimeView } from "./runtime-view";
import { BLOCK_REASON, type VerdictMaps } from "./verdict-maps";
import { VerdictPipeline } from "./verdict-pipeline";

export interface AgentRuntimeOptions {
  readonly node: string;
  readonly stateDir: string;
  readonly ingest: IngestConfig;
  readonly cluster?: Omit<ClusterConfig, "node">;
  readonly programs: ProgramSource;
  /** Undefined without the eBPF data plane. */
  readonly maps?: VerdictMaps;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  /** @default 50 */
  readonly retryMs?: number;
  /** How often expired blocks and destinations are pruned and blocked flows released. @default 250 */
  readonly maintenanceMs?: number;
  /** The API server Kubernetes Events go to. @default the in-cluster one when `ingest.kubernetesEvents` is auto */
  readonly kubernetesApi?: KubernetesEndpoint;
}

const MS = 1_000_000n;

/** The in-cluster API server, when there is one and its service-account files are readable. */
function clusterApi(log: Logger): KubernetesEndpoint | undefined {
  if (!process.env.KUBERNETES_SERVICE_HOST) return undefined;
  try {
    return inClusterEndpoint();
  } catch (error) {
    log.warn("in a cluster, but without a service account: no Kubernetes Events", { error });
    return undefined;
  }
}

/** A block's flows: the flow itself, or every flow with the blocked address at either end. */
function covers(scope: string, target: string | FlowKey, key: FlowKey): boolean {
  if (typeof target !== "string") {
    return (
      key.proto === target.proto &&
      key.addrA === target.addrA &&
      key.addrB === target.addrB &&
      key.portA === target.portA &&
      key.portB === target.portB
    );
  }
  return scope !== "flow" && (key.addrA === target || key.addrB === target);
}

/**
 * What the agent does with inspection: ingest sources feed the verdict
 * pipeline, which writes the runtime maps and shares blocks and learned
 * destinations through etcd; what other nodes share is applied here; expired
 * state is pruned and the flows it blocked are let go.
 */
export class AgentRuntime {
  readonly view: RuntimeView;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly conntrack: ConntrackLiberal;
  private readonly sampler: LoadSampler | undefined;

  private constructor(
    private readonly options: AgentRuntimeOptions,
    readonly pipeline: VerdictPipeline,
    readonly sources: readonly IngestSource[],
    readonly cluster: ClusterState | undefined,
    private readonly policy: PolicyView,
  ) {
    this.conntrack = new ConntrackLiberal(options.log);
    const maps = options.maps;
    this.sampler = maps && new LoadSampler((oneIn) => maps.setLoadSampling(oneIn), options.log);
    this.view = new RuntimeView({
      maps: options.maps,
      policy: () => policy.current(),
      status: () => this.status(),
    });
  }

  static async start(options: AgentRuntimeOptions): Promise<AgentRuntime> {
    const { log, maps } = options;
    const policy = new PolicyView(options.programs);
    const ingestMetrics = new IngestMetrics(options.metrics.registry);
    const cluster = options.cluster
      ? new ClusterState(
          { ...options.cluster, node: options.node },
          { logger: log, metrics: new ClusterMetrics(options.metrics.registry) },
        )
      : undefined;
    const writeAlert = options.ingest.alerts === "stdout" ? alertLineWriter() : undefined;
    const api =
      options.kubernetesApi ?? (options.ingest.kubernetesEvents === "auto" ? clusterApi(log) : undefined);
    const kubeEvents = api && new KubernetesEvents({ api, node: options.node, log });
    const pipeline = new VerdictPipeline({
      policy: () => policy.current(),
      maps,
      metrics: ingestMetrics,
      log,
      flowWaitMs: options.ingest.flowWaitMs,
      ...(writeAlert || kubeEvents
        ? {
            alerts: (event, decisions) => {
              writeAlert?.(event, decisions);
              kubeEvents?.report(event, decisions);
            },
          }
        : {}),
      ...(cluster
        ? {
            publisher: {
              block: (d) =>
                void cluster
                  .publishBlock(d)
                  .catch((error: unknown) => log.warn("block not shared", { error })),
              destination: (d) =>
                void cluster
                  .publishDestination(d)
                  .catch((error: unknown) => log.warn("destination not shared", { error })),
            },
          }
        : {}),
    });
    const sources = createIngestSources(options.ingest.sources, options.stateDir, pipeline.sink, log);
    for (const s of sources) ingestMetrics.track(s);
    const runtime = new AgentRuntime(options, pipeline, sources, cluster, policy);
    if (!maps && sources.length > 0) {
      log.warn("ingesting without the eBPF data plane: decisions are counted, not enforced");
    }
    if (cluster) {
      cluster.watch({
        onBlock: (change) => runtime.applyClusterBlock(change),
        onDestination: (change) => runtime.applyClusterDestination(change),
      });
    }
    runtime.timers.push(setInterval(() => pipeline.retryPending(), options.retryMs ?? 50));
    runtime.timers.push(setInterval(() => runtime.maintain(), options.maintenanceMs ?? 250));
    for (const t of runtime.timers) t.unref();
    const started: IngestSource[] = [];
    try {
      for (const s of sources) {
        await s.start();
        started.push(s);
      }
    } catch (error) {
      await Promise.all(started.map((s) => s.stop()));
      await runtime.stopTimersAndCluster();
      throw error;
    }
    log.info("runtime started", {
      sources: sources.map((s) => s.name),
      cluster: options.cluster?.endpoints ?? null,
      enforcing: maps !== undefined,
    });
    return runtime;
  }

  status(): RuntimeStatus {
    const counters: Record<string, number> = {};
    if (this.options.maps) {
      for (const [k, v] of Object.entries(this.options.maps.counters())) counters[k] = Number(v);
    }
    const c = this.cluster?.status();
    return {
      enforcing: this.pipeline.enforcing,
      ingest: this.sources.map((s) => {
        const st = s.stats();
        return {
          source: st.source,
          engine: st.engine,
          lines: st.lines,
          events: st.events,
          batches: st.batches,
          sinkErrors: st.sinkErrors,
          restarts: st.restarts,
          ...(st.lastError ? { lastError: st.lastError } : {}),
        };
      }),
      ...this.pipeline.stats(),
      cluster: c
        ? {
            connected: c.connected,
            revision: c.revision,
            queued: c.queued,
            blocks: c.blocks,
            destinations: c.destinations,
          }
        : null,
      counters,
    };
  }

  /** Stops the sources (their last batch reaches the maps), the timers and the cluster client. Kernel state stays. */
  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.stop()));
    await this.stopTimersAndCluster();
  }

  private async stopTimersAndCluster(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.cluster?.close();
  }

  private applyClusterBlock(change: Change<ClusterBlock>): void {
    const maps = this.options.maps;
    const block = change.entry;
    // Our own blocks are in the maps already, with their local expiry.
    if (!maps || (change.op === "add" && block.origin === this.options.node)) return;
    const t = block.target;
    const target = t.scope === "flow" ? flowKeyOfRef(t.flow) : canonicalAddress(t.address);
    if (target === undefined) return;
    if (change.op === "add") {
      const left = block.expiresAt - Date.now();
      if (left <= 0) return;
      const expiresNs = monotonicNs() + BigInt(Math.round(left)) * MS;
      if (t.scope === "flow")
        maps.addBlocks("flow", [{ target: target as FlowKey, expiresNs, reason: BLOCK_REASON.cluster }]);
      else maps.addBlocks(t.scope, [{ target: target as string, expiresNs, reason: BLOCK_REASON.cluster }]);
      return;
    }
    if (t.scope === "flow") maps.removeBlocks("flow", [target as FlowKey]);
    else maps.removeBlocks(t.scope, [target as string]);
    maps.releaseBlockedFlows((key) => covers(t.scope, target, key));
  }

  private applyClusterDestination(change: Change<ClusterDestination>): void {
    const maps = this.options.maps;
    const d = change.entry;
    if (!maps || d.origin === this.options.node) return;
    if (change.op === "remove") {
      maps.forgetDestinations([d.address]);
      return;
    }
    const left = d.expiresAt - Date.now();
    if (left <= 0) return;
    maps.learnDestinations([
      { addr: d.address, appId: d.appId, expiresNs: monotonicNs() + BigInt(Math.round(left)) * MS },
    ]);
  }

  /** Prunes what expired; flows that an expired block had stopped go back to INSPECT and re-read the blocks. */
  private maintain(): void {
    const maps = this.options.maps;
    if (!maps) return;
    try {
      const { fastPath } = this.policy.settled();
      this.conntrack.sync(fastPath !== undefined);
      // What the sensors would receive: packets mirrored plus packets the load sampling held back.
      const counters = maps.counters();
      this.sampler?.observe(Date.now(), Number(counters.mirrored + counters.load_shed), fastPath?.underLoad);
      const expired = maps.pruneExpiredBlocks();
      if (expired.length > 0) {
        maps.releaseBlockedFlows((key) => expired.some((b) => covers(b.scope, b.target, key)));
        this.options.log.info("blocks expired", { count: expired.length });
      }
      maps.pruneExpiredDestinations();
    } catch (error) {
      this.options.log.error("runtime maintenance failed", { error });
    }
  }
}
