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

/** What one attempt on the lease found. */
type Attempt = "held" | "held-by-another" | "lost-race";

/**
 * Leader election on a coordination.k8s.io Lease, so a second controller
 * (a rollout, a node partition) never programs the agents at the same time
 * as the first. Writes carry the resourceVersion read, so two candidates can
 * never both win. As in client-go, each side measures time on its own clock:
 *
 * - a candidate takes the lease only once it has seen the same lease record,
 *   unrenewed, for a whole lease duration;
 * - the holder renews every fifth of the lease and gives up once two thirds
 *   of it passed since the start of its last successful renewal, whether or
 *   not a renewal is still waiting for an answer, or at once when it finds
 *   another holder. So it stops before anyone may take over.
 */
export class LeaderLease {
  private readonly path: string;
  /** The lease record last seen held by another, and when this replica first saw it. */
  private observed?: { readonly record: string; readonly at: number };

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

  /** How often the holder renews. */
  get renewPeriodMs(): number {
    return (this.durationSeconds * 1000) / 5;
  }

  /** How long the holder may go without a successful renewal before it stops leading. */
  get renewDeadlineMs(): number {
    return (this.durationSeconds * 1000 * 2) / 3;
  }

  /** `namespace/name` of the Lease, for logs. */
  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** True when this replica holds the lease after the call. */
  async tryAcquireOrRenew(): Promise<boolean> {
    return (await this.attempt()) === "held";
  }

  /** Resolves once this replica holds the lease; retries every `retryMs`. */
  async acquire(signal: AbortSignal, retryMs = 2000): Promise<void> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew().catch(() => false))) {
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  /**
   * Renews until `signal` aborts; calls `onLost` once, when the renew
   * deadline passed without a successful renewal or another replica holds
   * the lease. After that this replica must not act as leader.
   */
  keep(signal: AbortSignal, onLost: () => void): void {
    let renewedAt = this.now().getTime();
    let renewing = false;
    const lose = () => {
      clearInterval(timer);
      if (!signal.aborted) onLost();
    };
    const timer = setInterval(() => {
      if (this.now().getTime() - renewedAt >= this.renewDeadlineMs) return lose();
      // A renewal still waiting for an answer is not doubled; the deadline above does not wait for it.
      if (renewing) return;
      renewing = true;
      const startedAt = this.now().getTime();
      this.attempt()
        .catch((): Attempt => "lost-race")
        .then((result) => {
          renewing = false;
          if (result === "held") renewedAt = startedAt;
          else if (result === "held-by-another") lose();
        });
    }, this.renewPeriodMs);
    signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  }

  private async attempt(): Promise<Attempt> {
    const now = this.now();
    let current: Lease;
    try {
      current = await this.api.get<Lease>(`${this.path}/${this.name}`);
    } catch (error) {
      if (!(error instanceof KubernetesError && error.status === 404)) throw error;
      return this.write(() => this.api.create(this.path, this.lease(now, now, 0)));
    }
    const { holderIdentity, acquireTime, leaseTransitions = 0 } = current.spec;
    const mine = holderIdentity === this.identity;
    if (!mine && holderIdentity && !this.expired(current, now.getTime())) return "held-by-another";
    const acquired = mine && acquireTime ? new Date(acquireTime) : now;
    const next = this.lease(acquired, now, mine ? leaseTransitions : leaseTransitions + 1);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.write(() => this.api.replace(`${this.path}/${this.name}`, next));
  }

  /** Whether another's lease went unrenewed for its whole duration, as this replica's clock measures it. */
  private expired(current: Lease, now: number): boolean {
    const record = `${current.spec.holderIdentity}@${current.spec.renewTime}`;
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const duration = (current.spec.leaseDurationSeconds ?? this.durationSeconds) * 1000;
    return now - this.observed.at >= duration;
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
  private async write(attempt: () => Promise<unknown>): Promise<Attempt> {
    try {
      await attempt();
      return "held";
    } catch (error) {
      if (error instanceof KubernetesError && (error.status === 409 || error.status === 404)) {
        return "lost-race";
      }
      throw error;
    }
  }
}
