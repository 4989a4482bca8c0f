import type { Decision } from "../../../sdk/decide";
import type { DpiEvent } from "../../../sdk/events";
import { KubernetesApi, type KubernetesEndpoint } from "../kubernetes/api";
import type { Logger } from "../log";

export interface KubernetesEventsOptions {
  readonly api: KubernetesEndpoint;
  /** The node the agent runs on: the Event's reporting instance. */
  readonly node: string;
  readonly log: Logger;
  /** One Event per pod and signature within this window; repeats raise its count. @default 60000 */
  readonly windowMs?: number;
  /** How long an address -> pod answer is trusted. @default 30000 */
  readonly podCacheMs?: number;
  /** Events waiting to be sent; beyond this new ones are dropped and counted. @default 1000 */
  readonly maxQueue?: number;
  readonly now?: () => number;
}

interface PodRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

interface Pending {
  readonly pod: PodRef;
  readonly reason: string;
  readonly message: string;
  count: number;
  readonly first: number;
  last: number;
}

/** Kubernetes names: lower case alphanumerics and dashes, at most 253 characters. */
function eventName(pod: string, reason: string, at: number): string {
  return `${pod}.fos1-${reason.toLowerCase()}-${at.toString(36)}`.slice(0, 253);
}

/**
 * Kubernetes Events on the pods that alerts are about, so `kubectl describe
 * pod` shows that fos1 blocked or flagged it. The pod is found by its address
 * (the flow's source, else its destination); addresses that are not pods are
 * skipped. Repeats of one signature on one pod within a window become one
 * Event with a count, and everything is sent off the hot path: a slow or
 * unreachable API server delays no verdict.
 */
export class KubernetesEvents {
  private readonly pods = new Map<string, { pod: PodRef | null; until: number }>();
  private readonly pending = new Map<string, Pending>();
  private readonly queue: (() => Promise<void>)[] = [];
  private draining = false;
  private dropped = 0;
  private readonly now: () => number;
  private readonly api: KubernetesApi;

  constructor(private readonly options: KubernetesEventsOptions) {
    this.now = options.now ?? Date.now;
    // Events wait in a bounded queue behind each call: a hung API server is given up on quickly.
    this.api = new KubernetesApi(options.api, 5000);
  }

  /** Events dropped because the queue was full. */
  get droppedEvents(): number {
    return this.dropped;
  }

  /** Reports an alert event and what was decided about it. Never throws, never waits. */
  report(event: DpiEvent, decisions: readonly Decision[]): void {
    const alerting = event.kind === "alert" || event.kind === "anomaly" || event.kind === "notice";
    const blocked = decisions.some((d) => d.kind === "block");
    if (!alerting && !blocked) return;
    const reason = blocked ? "DpiBlocked" : "DpiAlert";
    const what = event.signature?.text ?? event.message ?? event.kind;
    const message = `${event.engine}: ${what} (risk ${event.risk}; ${event.flow.protocol} ${event.flow.srcIp} -> ${event.flow.dstIp}${event.flow.dstPort === undefined ? "" : `:${event.flow.dstPort}`})${blocked ? "; blocked" : ""}`;
    this.enqueue(async () => {
      const pod = (await this.podAt(event.flow.srcIp)) ?? (await this.podAt(event.flow.dstIp));
      if (pod) await this.emit(pod, reason, `${reason}|${what}`, message);
    });
  }

  /** Waits until everything queued has been sent (or has failed). */
  async flush(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private enqueue(task: () => Promise<void>): void {
    if (this.queue.length >= (this.options.maxQueue ?? 1000)) {
      this.dropped++;
      return;
    }
    this.queue.push(task);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let task = this.queue.shift(); task; task = this.queue.shift()) {
        await task().catch((error: unknown) => this.options.log.warn("kubernetes event not sent", { error }));
      }
    } finally {
      this.draining = false;
    }
  }

  private async podAt(address: string): Promise<PodRef | undefined> {
    const now = this.now();
    const cached = this.pods.get(address);
    if (cached && cached.until > now) return cached.pod ?? undefined;
    const list = await this.api.get<{
      items?: {
        metadata?: { name?: string; namespace?: string; uid?: string };
        spec?: { hostNetwork?: boolean };
      }[];
    }>(`/api/v1/pods?fieldSelector=${encodeURIComponent(`status.podIP=${address}`)}`);
    // Host-network pods share the node's address: an alert about it is not about them.
    const item = list.items?.find((p) => !p.spec?.hostNetwork && p.metadata?.name && p.metadata.namespace);
    const pod = item
      ? { name: item.metadata!.name!, namespace: item.metadata!.namespace!, uid: item.metadata!.uid ?? "" }
      : null;
    // A miss costs an API call anyway: drop stale answers then, so the cache holds only recent addresses.
    for (const [a, cached] of this.pods) if (cached.until <= now) this.pods.delete(a);
    this.pods.set(address, { pod, until: now + (this.options.podCacheMs ?? 30_000) });
    return pod ?? undefined;
  }

  private async emit(pod: PodRef, reason: string, key: string, message: string): Promise<void> {
    const now = this.now();
    const id = `${pod.namespace}/${pod.name}|${key}`;
    const window = this.options.windowMs ?? 60_000;
    const seen = this.pending.get(id);
    if (seen && now - seen.first < window) {
      seen.count++;
      seen.last = now;
      await this.api.mergePatch(
        `/api/v1/namespaces/${pod.namespace}/events/${eventName(pod.name, seen.reason, seen.first)}`,
        { count: seen.count, lastTimestamp: new Date(now).toISOString() },
      );
      return;
    }
    const entry: Pending = { pod, reason, message, count: 1, first: now, last: now };
    this.pending.set(id, entry);
    for (const [k, v] of this.pending) if (now - v.first >= window) this.pending.delete(k);
    const at = new Date(now).toISOString();
    await this.api.create(`/api/v1/namespaces/${pod.namespace}/events`, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: eventName(pod.name, reason, now), namespace: pod.namespace },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        name: pod.name,
        namespace: pod.namespace,
        uid: pod.uid,
      },
      reason,
      message: message.slice(0, 1024),
      type: "Warning",
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: "fos1-dpi-agent", host: this.options.node },
      reportingComponent: "fos1.io/dpi-agent",
      reportingInstance: this.options.node,
    });
  }
}
