import { Etcd3, Range, type IWatchResponse, type Watcher } from "etcd3";
import { Registry } from "prom-client";
import { problemsFromZod, ValidationError } from "../../../sdk/schema/problem";
import { silentLogger, type Logger } from "../log";
import { Backoff } from "./backoff";
import { clusterConfig, type ClusterConfig, type ClusterConfigInput } from "./cluster-config";
import { ClusterMetrics } from "./cluster-metrics";
import {
  blockRecordOf,
  ClusterKeys,
  destinationRecordOf,
  type BlockDecision,
  type ClusterBlock,
  type ClusterDestination,
  type DestinationDecision,
} from "./cluster-records";
import { ClusterView, type Change, type StoredKv, type ViewChange, type ViewUpdate } from "./cluster-view";
import { Publisher, type PublishOutcome } from "./publisher";

/**
 * What a node does with cluster entries. Called once per change, in etcd
 * revision order, one call at a time (a returned promise is awaited before
 * the next call). A node's own publications come back here too, and a resync
 * may repeat an add, so both methods must be idempotent.
 */
export interface ClusterHandler {
  onBlock(change: Change<ClusterBlock>): void | Promise<void>;
  onDestination(change: Change<ClusterDestination>): void | Promise<void>;
}

export interface ClusterStateDependencies {
  readonly logger?: Logger;
  /** Where the metrics go; by default a registry of their own. */
  readonly metrics?: ClusterMetrics;
  /** Epoch ms; expiries are absolute, so every node must read a synchronised clock. */
  readonly now?: () => number;
}

export interface ClusterStatus {
  readonly connected: boolean;
  readonly revision: number;
  readonly queued: number;
  readonly blocks: number;
  readonly destinations: number;
  readonly leases: number;
}

/** Keys per page when listing a snapshot, so a large site never needs one huge message. */
const SNAPSHOT_PAGE = 1000;

/** Why a connection to etcd ended, and what the next one must do. */
interface Lost {
  readonly error: unknown;
  /** etcd cancelled the watch (its history was compacted past us): list everything again. */
  readonly resnapshot: boolean;
}

interface WatchSession {
  readonly connected: Promise<void>;
  readonly lost: Promise<Lost>;
  lose(cause: Lost): void;
}

/**
 * Cluster-wide blocks and application -> destination entries, shared through
 * etcd. Each node publishes what its own inspection decided, under a lease
 * that runs out when the entry does, and watches the site's keys: a full
 * snapshot first, then every put and delete in revision order, handed to the
 * handler as adds and removes.
 *
 * etcd being away never stops the node: the handler keeps what it was given,
 * entries still expire on time, publications wait in a bounded queue, and
 * `connected` is false while the module retries with backoff. On reconnect it
 * resumes the watch from the last revision it applied, so removals that
 * happened meanwhile are delivered; if etcd has compacted that history, it
 * lists everything and delivers the difference instead. Then the queue is flushed.
 * A node counts as offline until its first snapshot: what it publishes before
 * that (or before `watch()`) waits in the queue.
 *
 * ```ts
 * const cluster = new ClusterState({ endpoints: ["http://10.0.0.5:2379"], site: "hq", node: "router-1" });
 * cluster.watch({ onBlock: (c) => blocks.apply(c), onDestination: (c) => routes.apply(c) });
 * await cluster.publishBlock(decision);
 * ```
 */
export class ClusterState {
  readonly config: ClusterConfig;
  readonly keys: ClusterKeys;
  readonly metrics: ClusterMetrics;
  private readonly client: Etcd3;
  private readonly view: ClusterView;
  private readonly publisher: Publisher;
  private readonly logger: Logger;
  private readonly now: () => number;
  private handler: ClusterHandler | undefined;
  private loop: Promise<void> | undefined;
  private session: WatchSession | undefined;
  private delivery: Promise<void> = Promise.resolve();
  private isConnected = false;
  private needSnapshot = true;
  private closed = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt: number | undefined;
  private wakeFromPause: (() => void) | undefined;
  private syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(config: ClusterConfigInput, dependencies: ClusterStateDependencies = {}) {
    const parsed = clusterConfig.safeParse(config);
    if (!parsed.success) throw new ValidationError(problemsFromZod(parsed.error), "cluster config");
    this.config = parsed.data;
    this.keys = new ClusterKeys(this.config.site);
    this.metrics = dependencies.metrics ?? new ClusterMetrics(new Registry());
    this.logger = dependencies.logger ?? silentLogger;
    this.now = dependencies.now ?? Date.now;
    this.view = new ClusterView(this.keys);
    const timeout = this.config.callTimeoutMs;
    this.client = new Etcd3({
      hosts: this.config.endpoints,
      // Streams (the watch) live forever; every other call gets a deadline so a hung server is noticed.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
      // A silently dead server (no RST) is noticed by keepalive; 10 s stays above etcd's 5 s minimum ping interval.
      grpcOptions: { "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": timeout },
    });
    this.publisher = new Publisher({
      etcd: this.client,
      queueLimit: this.config.queueLimit,
      metrics: this.metrics,
      logger: this.logger,
      now: this.now,
      lost: (error) => this.session?.lose({ error, resnapshot: false }),
    });
  }

  /**
   * True while the node is connected to etcd and following its changes. After
   * a resume, the changes missed while away arrive right after this turns true.
   */
  get connected(): boolean {
    return this.isConnected;
  }

  status(): ClusterStatus {
    return {
      connected: this.isConnected,
      revision: this.view.revision,
      queued: this.publisher.queued,
      blocks: this.view.count("block"),
      destinations: this.view.count("destination"),
      leases: this.publisher.leaseCount,
    };
  }

  /** Shares a block decision with every node; throws a ValidationError for a decision that cannot be stored. */
  publishBlock(decision: BlockDecision): Promise<PublishOutcome> {
    this.assertOpen("publishBlock");
    const { key, record } = blockRecordOf(this.keys, decision, this.config.node, this.now());
    return this.publisher.publish({
      kind: "block",
      key,
      value: JSON.stringify(record),
      expiresAt: record.expiresAt,
    });
  }

  /** Shares a learned destination with every node; throws a ValidationError for one that cannot be stored. */
  publishDestination(decision: DestinationDecision): Promise<PublishOutcome> {
    this.assertOpen("publishDestination");
    const { key, record } = destinationRecordOf(this.keys, decision, this.config.node, this.now());
    return this.publisher.publish({
      kind: "destination",
      key,
      value: JSON.stringify(record),
      expiresAt: record.expiresAt,
    });
  }

  /** Starts following the site's entries (once per instance); connection problems are retried, never thrown. */
  watch(handler: ClusterHandler): void {
    this.assertOpen("watch");
    if (this.handler) throw new Error("cluster state: watch() was already called");
    this.handler = handler;
    this.loop = this.run();
  }

  /** Resolves once the node is connected (at once if it is now); see `connected`. */
  synced(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("cluster state: closed"));
    if (this.isConnected) return Promise.resolve();
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  /** Stops watching and retrying, waits for deliveries in progress, and closes the etcd client. Queued publications are lost. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session?.lose({ error: new Error("closed"), resnapshot: false });
    this.wakeFromPause?.();
    await this.loop;
    clearTimeout(this.expiryTimer);
    await this.delivery;
    for (const waiter of this.syncWaiters.splice(0)) waiter.reject(new Error("cluster state: closed"));
    this.client.close();
  }

  /** Connects, follows, and reconnects with backoff until closed. */
  private async run(): Promise<void> {
    const backoff = new Backoff(this.config.backoff.initialMs, this.config.backoff.maxMs);
    while (!this.closed) {
      const { lost, wasConnected } = await this.follow();
      this.setConnected(false);
      if (this.closed) break;
      if (lost.resnapshot) this.needSnapshot = true;
      if (wasConnected) backoff.reset();
      const delay = backoff.next();
      this.logger.warn("etcd connection lost; retrying", { error: lost.error, retryInMs: delay });
      await this.pause(delay);
    }
  }

  /** One connection: catch up (resume or snapshot), watch, flush the queue; returns when the connection is lost. */
  private async follow(): Promise<{ lost: Lost; wasConnected: boolean }> {
    let mode: "resume" | "snapshot";
    let from: number;
    try {
      mode = !this.needSnapshot && (await this.historyKept()) ? "resume" : "snapshot";
      from = mode === "resume" ? this.view.revision + 1 : (await this.snapshot()) + 1;
    } catch (error) {
      return { lost: { error, resnapshot: false }, wasConnected: false };
    }
    // close() may have come while catching up, before there was a session for it to end.
    if (this.closed) return { lost: { error: new Error("closed"), resnapshot: false }, wasConnected: false };
    const session = this.openWatch(from);
    this.session = session;
    const first = await Promise.race([session.connected.then(() => undefined), session.lost]);
    if (first) {
      this.session = undefined;
      return { lost: first, wasConnected: false };
    }
    this.needSnapshot = false;
    this.metrics.resyncs.inc({ mode });
    this.setConnected(true);
    this.publisher.goOnline();
    const lost = await session.lost;
    this.session = undefined;
    return { lost, wasConnected: true };
  }

  /** Whether etcd still has every revision after the last one applied (not compacted, and the same history). */
  private async historyKept(): Promise<boolean> {
    const range = Range.prefix(this.keys.prefix);
    try {
      await this.client.kv.range({
        key: range.start,
        range_end: range.end,
        revision: this.view.revision,
        count_only: true,
      });
      return true;
    } catch (error) {
      if (/compacted|future revision/.test(String((error as Error).message))) return false;
      throw error;
    }
  }

  /** Lists every key of the site at one revision, page by page, applies the difference, and returns that revision. */
  private async snapshot(): Promise<number> {
    const range = Range.prefix(this.keys.prefix);
    const kvs: StoredKv[] = [];
    let start = range.start;
    let revision: string | undefined;
    for (;;) {
      const page = await this.client.kv.range({
        key: start,
        range_end: range.end,
        limit: SNAPSHOT_PAGE,
        revision,
      });
      revision ??= page.header.revision;
      for (const kv of page.kvs) {
        kvs.push({
          key: kv.key.toString(),
          value: kv.value.toString(),
          modRevision: Number(kv.mod_revision),
        });
      }
      if (!page.more || page.kvs.length === 0) break;
      start = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
    const at = Number(revision);
    this.apply(this.view.replace(kvs, at, this.now()));
    return at;
  }

  private openWatch(from: number): WatchSession {
    const watcher: Watcher = this.client
      .watch()
      .prefix(this.keys.prefix)
      .startRevision(String(from))
      .watcher();
    let markConnected!: () => void;
    let markLost!: (cause: Lost) => void;
    const connected = new Promise<void>((resolve) => (markConnected = resolve));
    const lost = new Promise<Lost>((resolve) => (markLost = resolve));
    const onData = (res: IWatchResponse) => this.onWatchData(res);
    let ended = false;
    const end = (cause: Lost, cancel: boolean) => {
      if (ended) return;
      ended = true;
      // Events still in flight on a dead watch must not reach the view once a new one starts.
      watcher.off("data", onData);
      // Without a cancel, etcd3 re-attaches a disconnected watcher on its own, from a revision we do not choose.
      if (cancel) watcher.cancel().catch(() => undefined);
      markLost(cause);
    };
    watcher.on("connected", () => markConnected());
    watcher.on("data", onData);
    watcher.on("disconnected", (error) => end({ error, resnapshot: false }, true));
    // etcd cancelled the watch itself (history compacted past `from`); it is already detached.
    watcher.on("error", (error) => end({ error, resnapshot: true }, false));
    return { connected, lost, lose: (cause) => end(cause, true) };
  }

  private onWatchData(res: IWatchResponse): void {
    const now = this.now();
    for (const event of res.events) {
      const key = event.kv.key.toString();
      const revision = Number(event.kv.mod_revision);
      this.apply(
        event.type === "Put"
          ? this.view.put({ key, value: event.kv.value.toString(), modRevision: revision }, now)
          : this.view.delete(key, revision),
      );
    }
  }

  /** Counts what was rejected and hands the changes to the handler, in order, behind earlier ones. */
  private apply(update: ViewUpdate): void {
    for (const rejected of update.rejected) {
      this.metrics.malformed.inc({ kind: rejected.kind, reason: rejected.reason });
      this.logger.warn("skipped a malformed cluster entry", {
        reason: rejected.reason,
        detail: rejected.detail,
      });
    }
    if (update.changes.length > 0) this.deliver(update.changes);
    this.armExpiry();
  }

  private deliver(changes: readonly ViewChange[]): void {
    const handler = this.handler;
    if (!handler) return;
    this.metrics.entries.set({ kind: "block" }, this.view.count("block"));
    this.metrics.entries.set({ kind: "destination" }, this.view.count("destination"));
    this.delivery = this.delivery.then(async () => {
      for (const change of changes) {
        const c = change.change;
        try {
          await (change.kind === "block"
            ? handler.onBlock(change.change)
            : handler.onDestination(change.change));
          this.metrics.changes.inc({ kind: change.kind, op: c.op, cause: c.op === "remove" ? c.cause : "" });
        } catch (error) {
          this.metrics.handlerErrors.inc({ kind: change.kind });
          this.logger.error("cluster change handler failed", {
            kind: change.kind,
            key: c.entry.key,
            op: c.op,
            error,
          });
        }
      }
    });
  }

  /** Keeps one timer, set for the next expiry in the view. */
  private armExpiry(): void {
    const next = this.view.nextExpiry();
    if (next === this.expiryAt || this.closed) return;
    clearTimeout(this.expiryTimer);
    this.expiryAt = next;
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      this.expiryAt = undefined;
      this.apply({ changes: this.view.expire(this.now()), rejected: [] });
    }, delay);
    // Expiry alone must not keep a process alive.
    this.expiryTimer.unref();
  }

  private assertOpen(method: string): void {
    if (this.closed) throw new Error(`cluster state: ${method}() after close()`);
  }

  private setConnected(connected: boolean): void {
    this.isConnected = connected;
    this.metrics.connected.set(connected ? 1 : 0);
    if (!connected) this.publisher.goOffline();
    if (connected) for (const waiter of this.syncWaiters.splice(0)) waiter.resolve();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeFromPause = done;
    });
  }
}
