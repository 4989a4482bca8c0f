// ClusterState against a real etcd (Debian's etcd-server) on loopback: two
// ClusterState instances play two nodes of one site. Node "b" reaches etcd
// through a TCP relay the test can cut, so "b is away while something
// happens" does not depend on timing.
import { Etcd3 } from "etcd3";
import { rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Registry, type Counter } from "prom-client";
import type { BlockTarget } from "../../../sdk/decide/decisions";
import { ClusterMetrics } from "../../src/cluster/cluster-metrics";
import type { BlockDecision, ClusterBlock, ClusterDestination } from "../../src/cluster/cluster-records";
import { ClusterState, type ClusterHandler } from "../../src/cluster/cluster-state";
import type { Change } from "../../src/cluster/cluster-view";
import { LocalEtcd } from "../../src/cluster/local-etcd";

jest.setTimeout(60_000);

const SITE = "cl-site";

/** A handler that keeps what it was told, in order, and the entries it would enforce now. */
class Recorder implements ClusterHandler {
  readonly blockChanges: Change<ClusterBlock>[] = [];
  readonly destinationChanges: Change<ClusterDestination>[] = [];
  readonly blocks = new Map<string, ClusterBlock>();
  readonly destinations = new Map<string, ClusterDestination>();

  onBlock(change: Change<ClusterBlock>): void {
    this.blockChanges.push(change);
    if (change.op === "add") this.blocks.set(change.entry.key, change.entry);
    else this.blocks.delete(change.entry.key);
  }

  onDestination(change: Change<ClusterDestination>): void {
    this.destinationChanges.push(change);
    if (change.op === "add") this.destinations.set(change.entry.key, change.entry);
    else this.destinations.delete(change.entry.key);
  }

  removalsOf(key: string): Change<ClusterBlock>[] {
    return this.blockChanges.filter((c) => c.op === "remove" && c.entry.key === key);
  }
}

/** Forwards loopback TCP to etcd until cut; while cut, live connections are reset and new ones refused. */
class Relay {
  endpoint = "";
  private cutOff = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(target: string) {
    const url = new URL(target);
    this.server = createServer((client) => {
      if (this.cutOff) return void client.destroy();
      const upstream = createConnection(Number(url.port), url.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function sourceBlock(address: string, ttlMs = 600_000, reason = "suricata risk 90: ET SCAN"): BlockDecision {
  return { kind: "block", target: { scope: "source", address }, ttlMs, reason, cause: "risk" };
}

let etcd: LocalEtcd;
let relay: Relay;
let raw: Etcd3;
const nodes: ClusterState[] = [];

function node(name: string, endpoint: string, now?: () => number, queueLimit?: number): ClusterState {
  const state = new ClusterState(
    {
      endpoints: [endpoint],
      site: SITE,
      node: name,
      backoff: { initialMs: 50, maxMs: 500 },
      callTimeoutMs: 2000,
      queueLimit,
    },
    { metrics: new ClusterMetrics(new Registry()), now },
  );
  nodes.push(state);
  return state;
}

async function counterValue<L extends string>(
  counter: Counter<L>,
  labels: Partial<Record<L, string>>,
): Promise<number> {
  const { values } = await counter.get();
  const wanted = Object.entries(labels) as [L, string][];
  return values.find((v) => wanted.every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

beforeAll(async () => {
  etcd = await LocalEtcd.launch();
  relay = new Relay(etcd.endpoint);
  await relay.listen();
  raw = new Etcd3({ hosts: etcd.endpoint });
});

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  if (!etcd.running) await etcd.start();
  relay.restore();
  await raw.delete().prefix(`/fos1/${SITE}/`);
});

afterAll(async () => {
  raw?.close();
  await relay?.close();
  await etcd?.destroy();
});

test("a block published by one node is delivered to the other, and comes back to its publisher", async () => {
  const a = node("cl-a", etcd.endpoint);
  const b = node("cl-b", relay.endpoint);
  const seenA = new Recorder();
  const seenB = new Recorder();
  a.watch(seenA);
  b.watch(seenB);
  await Promise.all([a.synced(), b.synced()]);

  const target: BlockTarget = {
    scope: "flow",
    flow: { srcIp: "2001:DB8:0:0::7", dstIp: "192.0.2.10", srcPort: 40000, dstPort: 443, protocol: "tcp" },
  };
  await expect(
    a.publishBlock({
      kind: "block",
      target,
      ttlMs: 60_000,
      reason: "app control deny",
      cause: "application-control",
    }),
  ).resolves.toBe("published");
  await waitFor("b to get the block", () => seenB.blocks.size === 1);
  await waitFor("a to get its own block back", () => seenA.blocks.size === 1);

  const [delivered] = seenB.blocks.values();
  expect(delivered).toMatchObject({
    key: `/fos1/${SITE}/blocks/flow/tcp/2001:db8::7/40000/192.0.2.10/443`,
    origin: "cl-a",
    reason: "app control deny",
    target: { scope: "flow", flow: { srcIp: "2001:db8::7", dstIp: "192.0.2.10" } },
  });
  expect(delivered.expiresAt).toBeGreaterThan(Date.now() + 50_000);

  await a.publishDestination({
    kind: "learn-destination",
    address: "198.51.100.20",
    appId: 42,
    app: "netflix",
    ttlMs: 60_000,
    source: "dns",
  });
  await waitFor("b to learn the destination", () => seenB.destinations.size === 1);
  expect([...seenB.destinations.values()][0]).toMatchObject({
    address: "198.51.100.20",
    appId: 42,
    app: "netflix",
  });
});

test("entries already in etcd arrive as the start snapshot; an entry past its expiry does not", async () => {
  const a = node("cl-a", etcd.endpoint);
  a.watch(new Recorder());
  await a.synced();
  await a.publishBlock(sourceBlock("203.0.113.1"));
  const stale = {
    target: { scope: "source", address: "203.0.113.2" },
    reason: "old",
    origin: "cl-a",
    expiresAt: 1,
  };
  await raw.put(`/fos1/${SITE}/blocks/source/203.0.113.2`).value(JSON.stringify(stale));

  const late = node("cl-late", relay.endpoint);
  const seen = new Recorder();
  late.watch(seen);
  await late.synced();
  await waitFor("the snapshot to be delivered", () => seen.blocks.size === 1);
  expect([...seen.blocks.keys()]).toEqual([`/fos1/${SITE}/blocks/source/203.0.113.1`]);
});

test("lease expiry removes the entry from etcd and from every node, even one whose clock would keep it", async () => {
  const a = node("cl-a", etcd.endpoint);
  // b's clock is a minute behind: its own expiry timer would keep the block, so only etcd's lease can remove it.
  const b = node("cl-b", relay.endpoint, () => Date.now() - 60_000);
  const seenA = new Recorder();
  const seenB = new Recorder();
  a.watch(seenA);
  b.watch(seenB);
  await Promise.all([a.synced(), b.synced()]);

  const key = `/fos1/${SITE}/blocks/source/203.0.113.50`;
  await a.publishBlock(sourceBlock("203.0.113.50", 2_000));
  await waitFor("both to get the block", () => seenA.blocks.has(key) && seenB.blocks.has(key));
  const [stored] = (await raw.get(key).exec()).kvs;
  expect(stored.lease).not.toBe("0");

  await waitFor("both to drop the block", () => !seenA.blocks.has(key) && !seenB.blocks.has(key), 15_000);
  expect(await raw.get(key).string()).toBeNull();
  expect(seenA.removalsOf(key)).toEqual([expect.objectContaining({ op: "remove", cause: "expired" })]);
  expect(seenB.removalsOf(key)).toEqual([expect.objectContaining({ op: "remove", cause: "deleted" })]);
});

test("etcd killed and restarted while a node publishes: queued entries arrive after reconnect, and a removal made while the other node was away is delivered on resync", async () => {
  const a = node("cl-a", etcd.endpoint);
  const b = node("cl-b", relay.endpoint);
  const seenA = new Recorder();
  const seenB = new Recorder();
  a.watch(seenA);
  b.watch(seenB);
  await Promise.all([a.synced(), b.synced()]);

  const kept = `/fos1/${SITE}/blocks/source/203.0.113.10`;
  const unblocked = `/fos1/${SITE}/blocks/source/203.0.113.11`;
  await a.publishBlock(sourceBlock("203.0.113.10"));
  await a.publishBlock(sourceBlock("203.0.113.11"));
  await waitFor("b to get both blocks", () => seenB.blocks.size === 2);

  await etcd.stop();
  await waitFor("both nodes to notice", () => !a.connected && !b.connected);
  const queued = await Promise.all(
    ["203.0.113.20", "203.0.113.21", "203.0.113.22"].map((ip) => a.publishBlock(sourceBlock(ip))),
  );
  expect(queued).toEqual(["queued", "queued", "queued"]);
  expect(a.status().queued).toBe(3);
  // Local enforcement carries on: nothing was withdrawn because etcd went away.
  expect(seenB.blocks.size).toBe(2);

  relay.cut();
  await etcd.start();
  await a.synced();
  await waitFor("a's queue to be flushed back to a", () => seenA.blocks.size === 5);
  expect(a.status().queued).toBe(0);

  // An operator lifts one block while b is still away.
  await raw.delete().key(unblocked);
  expect(b.connected).toBe(false);
  expect(seenB.blocks.size).toBe(2);

  relay.restore();
  await b.synced();
  await waitFor("b to catch up", () => seenB.blocks.size === 4);
  expect([...seenB.blocks.keys()].sort()).toEqual(
    [kept, ...["20", "21", "22"].map((n) => `/fos1/${SITE}/blocks/source/203.0.113.${n}`)].sort(),
  );
  expect(seenB.removalsOf(unblocked)).toEqual([expect.objectContaining({ op: "remove", cause: "deleted" })]);
  expect(await counterValue(b.metrics.resyncs, { mode: "resume" })).toBe(1);
});

test("after etcd compacted the history a node missed, it resynchronises from a full snapshot", async () => {
  const a = node("cl-a", etcd.endpoint);
  const b = node("cl-b", relay.endpoint);
  const seenB = new Recorder();
  a.watch(new Recorder());
  b.watch(seenB);
  await Promise.all([a.synced(), b.synced()]);
  const gone = `/fos1/${SITE}/blocks/source/203.0.113.30`;
  await a.publishBlock(sourceBlock("203.0.113.30"));
  await waitFor("b to get the block", () => seenB.blocks.has(gone));

  relay.cut();
  await waitFor("b to notice", () => !b.connected);
  await raw.delete().key(gone);
  await a.publishBlock(sourceBlock("203.0.113.31"));
  const { header } = await raw.get("/").exec();
  await raw.kv.compact({ revision: header.revision, physical: true });

  relay.restore();
  await b.synced();
  await waitFor("b to catch up", () => seenB.blocks.size === 1 && !seenB.blocks.has(gone));
  expect([...seenB.blocks.keys()]).toEqual([`/fos1/${SITE}/blocks/source/203.0.113.31`]);
  expect(seenB.removalsOf(gone)).toEqual([expect.objectContaining({ op: "remove", cause: "deleted" })]);
  expect(await counterValue(b.metrics.resyncs, { mode: "snapshot" })).toBe(2);
});

test("malformed values written directly to etcd are counted and skipped, never applied", async () => {
  const a = node("cl-a", etcd.endpoint);
  const seen = new Recorder();
  a.watch(seen);
  await a.synced();
  const prefix = `/fos1/${SITE}/blocks/source/`;
  const record = (address: string) =>
    JSON.stringify({
      target: { scope: "source", address },
      reason: "x",
      origin: "cl-x",
      expiresAt: Date.now() + 60_000,
    });

  await a.publishBlock(sourceBlock("203.0.113.40"));
  await waitFor("the valid block", () => seen.blocks.size === 1);
  await raw.put(`${prefix}203.0.113.41`).value("{not json");
  await raw
    .put(`${prefix}203.0.113.42`)
    .value(JSON.stringify({ target: { scope: "source", address: "nope" } }));
  // A well-formed record at another target's key would move a block where its origin never put it.
  await raw.put(`${prefix}203.0.113.43`).value(record("203.0.113.99"));
  // A valid entry replaced by garbage is withdrawn: etcd no longer holds a block there.
  await raw.put(`${prefix}203.0.113.40`).value("garbage");
  await raw.put(`${prefix}203.0.113.44`).value(record("203.0.113.44"));

  await waitFor("the last valid block", () => seen.blocks.has(`${prefix}203.0.113.44`));
  expect([...seen.blocks.keys()]).toEqual([`${prefix}203.0.113.44`]);
  expect(seen.removalsOf(`${prefix}203.0.113.40`)).toEqual([
    expect.objectContaining({ op: "remove", cause: "malformed" }),
  ]);
  expect(await counterValue(a.metrics.malformed, { kind: "block", reason: "json" })).toBe(2);
  expect(await counterValue(a.metrics.malformed, { kind: "block", reason: "schema" })).toBe(1);
  expect(await counterValue(a.metrics.malformed, { kind: "block", reason: "key" })).toBe(1);
  expect(seen.blockChanges.filter((c) => c.op === "add").map((c) => c.entry.key)).toEqual([
    `${prefix}203.0.113.40`,
    `${prefix}203.0.113.44`,
  ]);
});

test("a burst of blocks with one TTL shares a handful of leases", async () => {
  const a = node("cl-a", etcd.endpoint);
  const seen = new Recorder();
  a.watch(seen);
  await a.synced();
  await Promise.all(
    Array.from({ length: 500 }, (_, i) => a.publishBlock(sourceBlock(`10.9.${i >> 8}.${i & 255}`))),
  );
  await waitFor("all 500 back", () => seen.blocks.size === 500);
  const { kvs } = await raw.getAll().prefix(`/fos1/${SITE}/blocks/`).exec();
  const leases = new Set(kvs.map((kv) => kv.lease));
  expect(kvs).toHaveLength(500);
  expect(leases.has("0")).toBe(false);
  // One TTL bucket, or two when the burst straddles a bucket boundary.
  expect(leases.size).toBeGreaterThanOrEqual(1);
  expect(leases.size).toBeLessThanOrEqual(2);
});

test("a node that starts while etcd is unreachable queues what it publishes (bounded) and syncs when etcd appears", async () => {
  const a = node("cl-a", etcd.endpoint);
  const seenA = new Recorder();
  a.watch(seenA);
  await a.synced();
  relay.cut();
  const b = node("cl-b", relay.endpoint, undefined, 2);
  const seenB = new Recorder();
  b.watch(seenB);
  const outcomes = await Promise.all(
    ["203.0.113.60", "203.0.113.61", "203.0.113.62"].map((ip) => b.publishBlock(sourceBlock(ip))),
  );
  expect(outcomes).toEqual(["queued", "queued", "queued"]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(b.connected).toBe(false);
  expect(b.status().queued).toBe(2);
  expect(await counterValue(b.metrics.queueDropped, { kind: "block", why: "full" })).toBe(1);

  relay.restore();
  await b.synced();
  await waitFor("a to get b's queued blocks", () => seenA.blocks.size === 2);
  expect([...seenA.blocks.values()].map((x) => x.target)).toEqual([
    { scope: "source", address: "203.0.113.61" },
    { scope: "source", address: "203.0.113.62" },
  ]);
  expect([...seenA.blocks.values()].every((x) => x.origin === "cl-b")).toBe(true);
  await waitFor("b to get its own blocks back", () => seenB.blocks.size === 2);
});

test("etcd coming back empty (its data lost) is resynchronised: entries it no longer holds are withdrawn, stale leases replaced", async () => {
  const a = node("cl-a", etcd.endpoint);
  const b = node("cl-b", relay.endpoint);
  const seenA = new Recorder();
  const seenB = new Recorder();
  a.watch(seenA);
  b.watch(seenB);
  await Promise.all([a.synced(), b.synced()]);
  const lost = `/fos1/${SITE}/blocks/source/203.0.113.70`;
  await a.publishBlock(sourceBlock("203.0.113.70"));
  await waitFor("b to get the block", () => seenB.blocks.has(lost));

  await etcd.stop();
  rmSync(etcd.dataDir, { recursive: true, force: true });
  await etcd.start();
  await waitFor("both to withdraw what etcd lost", () => !seenA.blocks.has(lost) && !seenB.blocks.has(lost));
  expect(seenB.removalsOf(lost)).toEqual([expect.objectContaining({ op: "remove", cause: "deleted" })]);

  // a still holds the lease of that block's bucket; etcd no longer knows it.
  await expect(a.publishBlock(sourceBlock("203.0.113.71"))).resolves.toBe("published");
  await waitFor("b to get the new block", () => seenB.blocks.size === 1);
});
