/**
 * Leases shared by entries that expire at about the same time. An entry goes
 * on the lease of the bucket its expiry falls in, and the lease ends at the
 * bucket's end; so 10k blocks with one TTL published within a second share
 * one or two leases instead of 10k, and an entry outlives its expiry in etcd
 * by at most one bucket width (about 1/20 of its TTL). Nodes stop enforcing
 * at the entry's own expiry; the lease only bounds how long etcd keeps it.
 * Leases get no keep-alive: they are meant to run out.
 */

/** Bucket widths, smallest first; an entry uses the widest that is at most 1/20 of its remaining TTL. */
const WIDTHS_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000];
const LATENESS_DIVISOR = 20;

/** The end of the bucket an entry expiring at `expiresAt` (seen at `now`) goes in. */
export function bucketEnd(expiresAt: number, now: number): number {
  const remaining = Math.max(0, expiresAt - now);
  let width = WIDTHS_MS[0];
  for (const w of WIDTHS_MS) if (w <= remaining / LATENESS_DIVISOR) width = w;
  return Math.ceil(expiresAt / width) * width;
}

/** Grants a lease of `ttlSeconds` and returns its id. */
export type GrantLease = (ttlSeconds: number) => Promise<string>;

export class LeasePool {
  private readonly leases = new Map<number, Promise<string>>();

  constructor(private readonly grant: GrantLease) {}

  /** Leases held, for metrics and tests. */
  get size(): number {
    return this.leases.size;
  }

  /** The lease for an entry expiring at `expiresAt`, granted on first use of its bucket. */
  leaseFor(expiresAt: number, now: number): Promise<string> {
    for (const end of this.leases.keys()) if (end <= now) this.leases.delete(end);
    const end = bucketEnd(expiresAt, now);
    const known = this.leases.get(end);
    if (known) return known;
    const granted = this.grant(Math.ceil((end - now) / 1000));
    this.leases.set(end, granted);
    // A failed grant must not poison the bucket: the next entry asks again.
    granted.catch(() => {
      if (this.leases.get(end) === granted) this.leases.delete(end);
    });
    return granted;
  }

  /** Forgets every lease, after etcd said one no longer exists (its data was lost or the lease revoked). */
  clear(): void {
    this.leases.clear();
  }
}
