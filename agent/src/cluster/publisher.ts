import {
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCInvalidArgumentError,
  type Etcd3,
} from "etcd3";
import type { Logger } from "../log";
import type { ClusterMetrics } from "./cluster-metrics";
import { LeasePool } from "./lease-pool";
import { PublishQueue, type PendingWrite } from "./publish-queue";

/**
 * `published`: etcd holds it. `queued`: etcd is unreachable; it is written when
 * the node reconnects. `dropped`: it waited in a full queue and gave way to newer ones.
 */
export type PublishOutcome = "published" | "queued" | "dropped";

/** Puts per etcd transaction (etcd refuses more than 128 operations in one by default). */
const BATCH = 100;

interface Waiter {
  resolve(outcome: PublishOutcome): void;
  reject(error: unknown): void;
}

export interface PublisherDependencies {
  readonly etcd: Etcd3;
  readonly queueLimit: number;
  readonly metrics: ClusterMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called when a write fails for want of etcd: the connection is treated as lost. */
  readonly lost: (error: unknown) => void;
}

/**
 * Writes entries to etcd, each on the shared lease of its expiry bucket.
 * Every publication goes through one queue drained by one writer: while a
 * transaction is in flight, new publications gather into the next one (a
 * burst of 1000 blocks is ten transactions, not a thousand), and two
 * publications of one key can never overtake each other. While the node is
 * offline the queue simply holds them, bounded, until it is back.
 */
export class Publisher {
  private readonly queue: PublishQueue;
  private readonly leases: LeasePool;
  private readonly waiters = new Map<string, Waiter[]>();
  private online = false;
  private draining = false;
  /** Bumped when the node goes offline, so a write loop of the old connection cannot blame the new one. */
  private generation = 0;

  constructor(private readonly deps: PublisherDependencies) {
    this.queue = new PublishQueue(deps.queueLimit);
    this.leases = new LeasePool((ttlSeconds) =>
      deps.etcd.leaseClient.leaseGrant({ TTL: ttlSeconds }).then((res) => res.ID),
    );
  }

  get queued(): number {
    return this.queue.size;
  }

  get leaseCount(): number {
    return this.leases.size;
  }

  /** Resolves once etcd holds the entry, or at once with `queued` while offline; rejects if etcd refuses it. */
  publish(write: PendingWrite): Promise<PublishOutcome> {
    const outcome = new Promise<PublishOutcome>((resolve, reject) => {
      const list = this.waiters.get(write.key) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(write.key, list);
    });
    const dropped = this.queue.add(write);
    if (dropped) {
      this.deps.metrics.queueDropped.inc({ kind: dropped.kind, why: "full" });
      this.deps.logger.warn("cluster publish queue full: dropped the oldest entry", { key: dropped.key });
      this.settleWaiters(dropped.key, (w) => w.resolve("dropped"));
    }
    this.deps.metrics.queued.set(this.queue.size);
    if (this.online) void this.drain();
    else this.settleWaiters(write.key, (w) => w.resolve("queued"));
    return outcome;
  }

  /** The node is connected: write everything queued, then keep writing as publications come. */
  goOnline(): void {
    this.online = true;
    void this.drain();
  }

  /** The node lost etcd: what waits stays queued, and its publishers hear so now. */
  goOffline(): void {
    this.online = false;
    this.generation++;
    for (const key of [...this.waiters.keys()]) this.settleWaiters(key, (w) => w.resolve("queued"));
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const generation = this.generation;
    try {
      // Let publications made in the same tick join the first transaction.
      await null;
      while (this.online && this.queue.size > 0) {
        const batch = this.queue.peek(BATCH);
        const now = this.deps.now();
        const live = batch.filter((write) => write.expiresAt > now);
        for (const write of batch) {
          if (write.expiresAt <= now)
            this.deps.metrics.queueDropped.inc({ kind: write.kind, why: "expired" });
        }
        const refused = await this.writeRefusalsApart(live);
        for (const write of this.queue.settle(batch)) {
          const error = refused.get(write);
          if (error) this.settleWaiters(write.key, (w) => w.reject(error));
          else if (write.expiresAt <= now) this.settleWaiters(write.key, (w) => w.resolve("dropped"));
          else this.settleWaiters(write.key, (w) => w.resolve("published"));
        }
        this.deps.metrics.queued.set(this.queue.size);
      }
    } catch (error) {
      if (generation === this.generation) this.deps.lost(error);
    } finally {
      this.draining = false;
      // A loop that outlived its connection hands over to the new one.
      if (generation !== this.generation && this.online) void this.drain();
    }
  }

  /** Writes a batch; if etcd refuses it, writes its entries one by one and returns those it refused. */
  private async writeRefusalsApart(batch: readonly PendingWrite[]): Promise<Map<PendingWrite, unknown>> {
    const refused = new Map<PendingWrite, unknown>();
    if (batch.length === 0) return refused;
    try {
      await this.write(batch);
      return refused;
    } catch (error) {
      if (!refusedByEtcd(error)) throw error;
    }
    for (const write of batch) {
      try {
        await this.write([write]);
      } catch (error) {
        if (!refusedByEtcd(error)) throw error;
        refused.set(write, error);
        this.deps.metrics.queueDropped.inc({ kind: write.kind, why: "refused" });
        this.deps.logger.error("etcd refused a cluster entry", { key: write.key, error });
      }
    }
    return refused;
  }

  /** Writes entries in one transaction, each on the lease of its expiry bucket. */
  private async write(batch: readonly PendingWrite[]): Promise<void> {
    try {
      await this.transaction(batch);
    } catch (error) {
      if (!(error instanceof EtcdLeaseInvalidError)) throw error;
      // A lease we hold ran out early or etcd lost its data: take fresh leases once.
      this.leases.clear();
      await this.transaction(batch);
    }
    for (const write of batch) this.deps.metrics.published.inc({ kind: write.kind });
    this.deps.metrics.leases.set(this.leases.size);
  }

  private async transaction(batch: readonly PendingWrite[]): Promise<void> {
    const now = this.deps.now();
    const success = await Promise.all(
      batch.map(async (write) => ({
        request_put: {
          key: Buffer.from(write.key),
          value: Buffer.from(write.value),
          lease: await this.leases.leaseFor(write.expiresAt, now),
        },
      })),
    );
    await this.deps.etcd.kv.txn({ success });
  }

  private settleWaiters(key: string, settle: (waiter: Waiter) => void): void {
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    for (const waiter of list) settle(waiter);
  }
}

/** etcd refused the write itself (too large, not permitted): retrying the same write can never succeed. */
function refusedByEtcd(error: unknown): boolean {
  return error instanceof GRPCInvalidArgumentError || error instanceof EtcdPermissionDeniedError;
}
