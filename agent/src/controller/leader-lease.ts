import { KubernetesError, type KubernetesApi } from "../kubernetes/api";

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The API server's MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Leader election on a coordination.k8s.io Lease, so a second controller
 * (a rollout, a node partition) never programs the agents at the same time
 * as the first. The holder renews every third of the lease; another replica
 * takes over only once a renewal is a whole lease late. Writes carry the
 * resourceVersion read, so two candidates can never both win.
 */
export class LeaderLease {
  private readonly path: string;

  constructor(
    private readonly api: KubernetesApi,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    readonly durationSeconds = 15,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  }

  /** True when this replica holds the lease after the call. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    let current: Lease;
    try {
      current = await this.api.get<Lease>(`${this.path}/${this.name}`);
    } catch (error) {
      if (!(error instanceof KubernetesError && error.status === 404)) throw error;
      return this.write(() => this.api.create(this.path, this.lease(now, now, 0)));
    }
    const {
      holderIdentity,
      renewTime,
      leaseDurationSeconds,
      acquireTime,
      leaseTransitions = 0,
    } = current.spec;
    const mine = holderIdentity === this.identity;
    const expiresAt = renewTime
      ? Date.parse(renewTime) + (leaseDurationSeconds ?? this.durationSeconds) * 1000
      : 0;
    if (!mine && holderIdentity && expiresAt > now.getTime()) return false;
    const acquired = mine && acquireTime ? new Date(acquireTime) : now;
    const next = this.lease(acquired, now, mine ? leaseTransitions : leaseTransitions + 1);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.write(() => this.api.replace(`${this.path}/${this.name}`, next));
  }

  /** Resolves once this replica holds the lease; retries every `retryMs`. */
  async acquire(signal: AbortSignal, retryMs = 2000): Promise<void> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew().catch(() => false))) {
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  /**
   * Renews until `signal` aborts; calls `onLost` once a whole lease went by
   * without a successful renewal, after which another replica may lead.
   */
  keep(signal: AbortSignal, onLost: () => void): void {
    let renewed = this.now().getTime();
    const timer = setInterval(
      async () => {
        const held = await this.tryAcquireOrRenew().catch(() => false);
        if (held) renewed = this.now().getTime();
        else if (this.now().getTime() - renewed >= this.durationSeconds * 1000) {
          clearInterval(timer);
          onLost();
        }
      },
      (this.durationSeconds * 1000) / 3,
    );
    signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  }

  private lease(acquired: Date, renewed: Date, transitions: number): Lease {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.durationSeconds,
        acquireTime: microTime(acquired),
        renewTime: microTime(renewed),
        leaseTransitions: transitions,
      },
    };
  }

  /** A write that lost a race (409) or found the lease gone (404) leaves this replica without it. */
  private async write(attempt: () => Promise<unknown>): Promise<boolean> {
    try {
      await attempt();
      return true;
    } catch (error) {
      if (error instanceof KubernetesError && (error.status === 409 || error.status === 404)) return false;
      throw error;
    }
  }
}
