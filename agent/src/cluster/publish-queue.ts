/** One entry waiting to be written to etcd. */
export interface PendingWrite {
  readonly kind: "block" | "destination";
  readonly key: string;
  readonly value: string;
  readonly expiresAt: number;
}

/**
 * Publications held while etcd is unreachable, one per key (a newer
 * publication of the same target replaces the older), bounded: when full the
 * oldest is dropped, since it is the one closest to expiring anyway.
 */
export class PublishQueue {
  private readonly pending = new Map<string, PendingWrite>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.pending.size;
  }

  /** Queues `write`; returns the write dropped to make room, if any. */
  add(write: PendingWrite): PendingWrite | undefined {
    this.pending.delete(write.key);
    let dropped: PendingWrite | undefined;
    if (this.pending.size >= this.limit) {
      const oldest = this.pending.values().next().value as PendingWrite;
      this.pending.delete(oldest.key);
      dropped = oldest;
    }
    this.pending.set(write.key, write);
    return dropped;
  }

  /** Up to `n` writes, oldest first, left in the queue until `settle`. */
  peek(n: number): PendingWrite[] {
    const out: PendingWrite[] = [];
    for (const write of this.pending.values()) {
      if (out.length >= n) break;
      out.push(write);
    }
    return out;
  }

  /**
   * Removes writes that were dealt with, unless a newer publication of the same
   * key replaced them meanwhile (that one is still to be written); returns those removed.
   */
  settle(writes: readonly PendingWrite[]): PendingWrite[] {
    const removed: PendingWrite[] = [];
    for (const write of writes) {
      if (this.pending.get(write.key) !== write) continue;
      this.pending.delete(write.key);
      removed.push(write);
    }
    return removed;
  }
}
