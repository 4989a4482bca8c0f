import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Subsystem } from "./reconcile/reconciler";

/**
 * The agent's Prometheus metrics, on a registry of their own so that several
 * agents in one process (tests) never share counters. The runtime gauges at
 * the end are hooks: the engine never sets them; the parts that learn flows,
 * blocks and per-application traffic (ingest, the BPF map reader) do.
 */
export class AgentMetrics {
  readonly registry = new Registry();

  readonly applyDuration = new Histogram({
    name: "fos1_agent_apply_duration_seconds",
    help: "Time to apply a PUT or DELETE to the kernel, including validation and persistence",
    labelNames: ["operation", "outcome"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly kernelWrites = new Counter({
    name: "fos1_agent_kernel_writes_total",
    help: "Kernel writes made, by subsystem and by what caused them",
    labelNames: ["subsystem", "cause"] as const,
    registers: [this.registry],
  });

  readonly driftRepairs = new Counter({
    name: "fos1_agent_drift_repairs_total",
    help: "Reconcile passes that found a subsystem drifted from the stored programs and rewrote it",
    labelNames: ["subsystem"] as const,
    registers: [this.registry],
  });

  readonly reconcileErrors = new Counter({
    name: "fos1_agent_reconcile_errors_total",
    help: "Subsystem applies that failed in the background reconcile loop",
    labelNames: ["subsystem"] as const,
    registers: [this.registry],
  });

  readonly programs = new Gauge({
    name: "fos1_agent_programs",
    help: "NodePrograms the agent holds",
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: "fos1_agent_ready",
    help: "1 once the stored programs have been re-applied after start",
    registers: [this.registry],
  });

  readonly flows = new Gauge({
    name: "fos1_flows",
    help: "Flows in the flow table, by state (slow, offloaded, blocked, ...)",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });

  readonly blocks = new Gauge({
    name: "fos1_blocks",
    help: "Active blocks, by scope (source, destination, flow)",
    labelNames: ["scope"] as const,
    registers: [this.registry],
  });

  readonly appFlows = new Gauge({
    name: "fos1_app_flows",
    help: "Live flows per application",
    labelNames: ["app"] as const,
    registers: [this.registry],
  });

  readonly appBytes = new Gauge({
    name: "fos1_app_bytes",
    help: "Bytes seen per application since the agent started",
    labelNames: ["app"] as const,
    registers: [this.registry],
  });

  readonly mapEntries = new Gauge({
    name: "fos1_map_entries",
    help: "Entries in each pinned eBPF map",
    labelNames: ["map"] as const,
    registers: [this.registry],
  });

  readonly mapCapacity = new Gauge({
    name: "fos1_map_capacity",
    help: "max_entries of each pinned eBPF map",
    labelNames: ["map"] as const,
    registers: [this.registry],
  });

  /** Adds the Node.js process metrics (memory, event loop lag); only the real agent wants them. */
  withProcessMetrics(): this {
    collectDefaultMetrics({ register: this.registry });
    return this;
  }

  countWrites(writes: Readonly<Record<Subsystem, number>>, cause: string): void {
    for (const [subsystem, n] of Object.entries(writes)) {
      if (n > 0) this.kernelWrites.inc({ subsystem, cause }, n);
    }
  }
}
