import {
  kindOfKey,
  parseEntry,
  type ClusterBlock,
  type ClusterDestination,
  type ClusterEntry,
  type ClusterKeys,
  type Rejection,
} from "./cluster-records";
import { ExpiryQueue } from "./expiry-queue";

/**
 * The cluster entries this node holds, as etcd last told it, and what
 * changed with each thing etcd said. Pure: it is given etcd's key-values and
 * the time, and returns the changes to deliver; the caller talks to etcd and
 * calls the handler. Entries leave the view at their own expiry even while
 * etcd is unreachable (or slow to revoke a lease), so a node never enforces a
 * block longer than its origin asked.
 */

export type RemoveCause = "deleted" | "expired" | "malformed";

export type Change<T> =
  | { readonly op: "add"; readonly entry: T }
  | { readonly op: "remove"; readonly entry: T; readonly cause: RemoveCause };

export type ViewChange =
  | { readonly kind: "block"; readonly change: Change<ClusterBlock> }
  | { readonly kind: "destination"; readonly change: Change<ClusterDestination> };

/** One key-value as etcd returns it. */
export interface StoredKv {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

export interface ViewUpdate {
  readonly changes: ViewChange[];
  readonly rejected: (Rejection & { readonly kind: ClusterEntry["kind"] })[];
}

interface Held {
  readonly entry: ClusterEntry;
  readonly modRevision: number;
}

export class ClusterView {
  private readonly held = new Map<string, Held>();
  private readonly expiry = new ExpiryQueue();
  private readonly counts = { block: 0, destination: 0 };
  private appliedRevision = 0;

  constructor(private readonly keys: ClusterKeys) {}

  /** The etcd revision everything in the view is current to (0 before the first snapshot). */
  get revision(): number {
    return this.appliedRevision;
  }

  get size(): number {
    return this.held.size;
  }

  count(kind: ClusterEntry["kind"]): number {
    return this.counts[kind];
  }

  entries(): ClusterEntry[] {
    return [...this.held.values()].map((held) => held.entry);
  }

  /** A put seen on the watch. Replays of a revision already applied change nothing. */
  put(kv: StoredKv, now: number): ViewUpdate {
    this.advance(kv.modRevision);
    const held = this.held.get(kv.key);
    if (held && kv.modRevision <= held.modRevision) return { changes: [], rejected: [] };
    return this.accept(kv, held, now);
  }

  /** A delete seen on the watch (a lease expiring deletes its keys the same way). */
  delete(key: string, modRevision: number): ViewUpdate {
    this.advance(modRevision);
    const held = this.held.get(key);
    if (!held || modRevision <= held.modRevision) return { changes: [], rejected: [] };
    this.drop(key, held);
    return { changes: [removal(held.entry, "deleted")], rejected: [] };
  }

  /**
   * A full listing at `revision`: what the view lacks is added, what etcd no
   * longer holds is removed (deleted or expired while this node was away).
   * A listing at a lower revision than the view's means etcd's history
   * restarted (a new cluster): every entry is then re-read, not trusted by revision.
   */
  replace(kvs: readonly StoredKv[], revision: number, now: number): ViewUpdate {
    const historyRestarted = revision < this.appliedRevision;
    const listed = new Set<string>();
    const changes: ViewChange[] = [];
    const rejected: ViewUpdate["rejected"] = [];
    const additions: ViewUpdate[] = [];
    for (const kv of kvs) {
      if (!kindOfKey(this.keys, kv.key)) continue;
      listed.add(kv.key);
      const held = this.held.get(kv.key);
      if (held && held.modRevision === kv.modRevision && !historyRestarted) continue;
      additions.push(this.accept(kv, held, now));
    }
    for (const [key, held] of this.held) {
      if (listed.has(key)) continue;
      this.drop(key, held);
      changes.push(removal(held.entry, "deleted"));
    }
    for (const update of additions) {
      changes.push(...update.changes);
      rejected.push(...update.rejected);
    }
    this.appliedRevision = revision;
    return { changes, rejected };
  }

  /** Removes the entries whose expiry has come. */
  expire(now: number): ViewChange[] {
    const changes: ViewChange[] = [];
    for (const slot of this.expiry.popDue(now)) {
      const held = this.held.get(slot.key);
      if (!held || held.entry.entry.expiresAt > now) continue;
      this.drop(slot.key, held);
      changes.push(removal(held.entry, "expired"));
    }
    return changes;
  }

  /** When `expire` next has something to do. */
  nextExpiry(): number | undefined {
    return this.expiry.peek();
  }

  private accept(kv: StoredKv, held: Held | undefined, now: number): ViewUpdate {
    const kind = kindOfKey(this.keys, kv.key);
    if (!kind) return { changes: [], rejected: [] };
    const parsed = parseEntry(this.keys, kind, kv.key, kv.value);
    if (!parsed.ok) {
      if (held) this.drop(kv.key, held);
      return {
        changes: held ? [removal(held.entry, "malformed")] : [],
        rejected: [{ kind, ...parsed.rejection }],
      };
    }
    if (parsed.value.entry.expiresAt <= now) {
      if (held) this.drop(kv.key, held);
      return { changes: held ? [removal(held.entry, "expired")] : [], rejected: [] };
    }
    if (held) this.drop(kv.key, held);
    this.held.set(kv.key, { entry: parsed.value, modRevision: kv.modRevision });
    this.counts[parsed.value.kind]++;
    this.expiry.push(parsed.value.entry.expiresAt, kv.key);
    return { changes: [addition(parsed.value)], rejected: [] };
  }

  private drop(key: string, held: Held): void {
    this.held.delete(key);
    this.counts[held.entry.kind]--;
  }

  private advance(revision: number): void {
    if (revision > this.appliedRevision) this.appliedRevision = revision;
  }
}

function addition(entry: ClusterEntry): ViewChange {
  return entry.kind === "block"
    ? { kind: "block", change: { op: "add", entry: entry.entry } }
    : { kind: "destination", change: { op: "add", entry: entry.entry } };
}

function removal(entry: ClusterEntry, cause: RemoveCause): ViewChange {
  return entry.kind === "block"
    ? { kind: "block", change: { op: "remove", entry: entry.entry, cause } }
    : { kind: "destination", change: { op: "remove", entry: entry.entry, cause } };
}
