import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Metrics of the cluster state module, registered on the registry the agent
 * serves (`AgentMetrics.registry`) or on one of its own in tests.
 */
export class ClusterMetrics {
  readonly connected: Gauge;
  readonly published: Counter<"kind">;
  readonly queued: Gauge;
  readonly queueDropped: Counter<"kind" | "why">;
  readonly malformed: Counter<"kind" | "reason">;
  readonly changes: Counter<"kind" | "op" | "cause">;
  readonly resyncs: Counter<"mode">;
  readonly handlerErrors: Counter<"kind">;
  readonly entries: Gauge<"kind">;
  readonly leases: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connected = new Gauge({
      name: "fos1_cluster_connected",
      help: "1 while the node is connected to etcd and following its changes",
      registers,
    });
    this.published = new Counter({
      name: "fos1_cluster_published_total",
      help: "Entries written to etcd, by kind (block, destination)",
      labelNames: ["kind"],
      registers,
    });
    this.queued = new Gauge({
      name: "fos1_cluster_queued",
      help: "Publications waiting for etcd to come back",
      registers,
    });
    this.queueDropped = new Counter({
      name: "fos1_cluster_queue_dropped_total",
      help: "Queued publications never written: the queue was full, or they expired while waiting",
      labelNames: ["kind", "why"],
      registers,
    });
    this.malformed = new Counter({
      name: "fos1_cluster_malformed_total",
      help: "Values read from etcd that were skipped, by kind and reason (json, schema, key)",
      labelNames: ["kind", "reason"],
      registers,
    });
    this.changes = new Counter({
      name: "fos1_cluster_changes_total",
      help: "Changes delivered to the node, by kind, operation and removal cause",
      labelNames: ["kind", "op", "cause"],
      registers,
    });
    this.resyncs = new Counter({
      name: "fos1_cluster_resyncs_total",
      help: "Times the node caught up with etcd: resume (watch from the last revision) or snapshot (full listing)",
      labelNames: ["mode"],
      registers,
    });
    this.handlerErrors = new Counter({
      name: "fos1_cluster_handler_errors_total",
      help: "Changes whose handler threw",
      labelNames: ["kind"],
      registers,
    });
    this.entries = new Gauge({
      name: "fos1_cluster_entries",
      help: "Cluster entries the node holds, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.leases = new Gauge({
      name: "fos1_cluster_leases",
      help: "etcd leases this node publishes on",
      registers,
    });
  }
}
