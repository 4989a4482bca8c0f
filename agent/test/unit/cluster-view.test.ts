import { ClusterKeys } from "../../src/cluster/cluster-records";
import { ClusterView, type StoredKv, type ViewChange } from "../../src/cluster/cluster-view";

const keys = new ClusterKeys("cl-site");
const NOW = 1_700_000_000_000;

function block(address: string, expiresAt = NOW + 60_000, origin = "cl-a"): string {
  return JSON.stringify({ target: { scope: "source", address }, reason: "test", origin, expiresAt });
}

function kv(address: string, modRevision: number, value = block(address)): StoredKv {
  return { key: `${keys.blocks}source/${address}`, value, modRevision };
}

/** `add 10.0.0.1`, `remove 10.0.0.1 (deleted)`: changes in a form a failing test prints readably. */
function summary(changes: readonly ViewChange[]): string[] {
  return changes.map((c) => {
    const what = c.change.entry.key.slice(keys.prefix.length);
    return c.change.op === "add" ? `add ${what}` : `remove ${what} (${c.change.cause})`;
  });
}

test("a put adds, a replay of the same revision changes nothing, a newer put updates", () => {
  const view = new ClusterView(keys);
  expect(summary(view.put(kv("10.0.0.1", 5), NOW).changes)).toEqual(["add blocks/source/10.0.0.1"]);
  expect(view.put(kv("10.0.0.1", 5), NOW).changes).toEqual([]);
  expect(summary(view.put(kv("10.0.0.1", 7, block("10.0.0.1", NOW + 90_000)), NOW).changes)).toEqual([
    "add blocks/source/10.0.0.1",
  ]);
  expect(view.revision).toBe(7);
  expect(view.count("block")).toBe(1);
});

test("a delete removes only what an older revision put", () => {
  const view = new ClusterView(keys);
  view.put(kv("10.0.0.1", 5), NOW);
  expect(view.delete(`${keys.blocks}source/10.0.0.1`, 4).changes).toEqual([]);
  expect(summary(view.delete(`${keys.blocks}source/10.0.0.1`, 6).changes)).toEqual([
    "remove blocks/source/10.0.0.1 (deleted)",
  ]);
  expect(view.delete(`${keys.blocks}source/10.0.0.1`, 6).changes).toEqual([]);
  expect(view.size).toBe(0);
  expect(view.count("block")).toBe(0);
});

test("keys outside blocks/ and destinations/ are neither applied nor counted as malformed", () => {
  const view = new ClusterView(keys);
  const update = view.put({ key: `${keys.prefix}agents/cl-a`, value: "anything", modRevision: 3 }, NOW);
  expect(update).toEqual({ changes: [], rejected: [] });
  expect(view.revision).toBe(3);
});

test("malformed values are rejected with a reason, and withdraw the valid entry they overwrite", () => {
  const view = new ClusterView(keys);
  view.put(kv("10.0.0.1", 5), NOW);
  const update = view.put(kv("10.0.0.1", 6, "{"), NOW);
  expect(summary(update.changes)).toEqual(["remove blocks/source/10.0.0.1 (malformed)"]);
  expect(update.rejected).toEqual([expect.objectContaining({ kind: "block", reason: "json" })]);
  expect(view.put(kv("10.0.0.2", 7, block("10.0.0.2", -1)), NOW).rejected).toEqual([
    expect.objectContaining({ reason: "schema", detail: expect.stringContaining("expiresAt") }),
  ]);
  expect(view.size).toBe(0);
});

test("an entry already past its expiry is not added; one that expires is removed by expire()", () => {
  const view = new ClusterView(keys);
  expect(view.put(kv("10.0.0.1", 5, block("10.0.0.1", NOW - 1)), NOW).changes).toEqual([]);
  view.put(kv("10.0.0.2", 6, block("10.0.0.2", NOW + 1_000)), NOW);
  view.put(kv("10.0.0.3", 7, block("10.0.0.3", NOW + 2_000)), NOW);
  expect(view.nextExpiry()).toBe(NOW + 1_000);
  expect(view.expire(NOW + 999)).toEqual([]);
  expect(summary(view.expire(NOW + 1_000))).toEqual(["remove blocks/source/10.0.0.2 (expired)"]);
  expect(view.nextExpiry()).toBe(NOW + 2_000);
});

test("a refreshed entry outlives the expiry it was first published with", () => {
  const view = new ClusterView(keys);
  view.put(kv("10.0.0.1", 5, block("10.0.0.1", NOW + 1_000)), NOW);
  view.put(kv("10.0.0.1", 6, block("10.0.0.1", NOW + 5_000)), NOW);
  expect(view.expire(NOW + 1_000)).toEqual([]);
  expect(view.size).toBe(1);
  expect(summary(view.expire(NOW + 5_000))).toEqual(["remove blocks/source/10.0.0.1 (expired)"]);
});

test("a snapshot adds what is new, removes what disappeared, and leaves unchanged entries alone", () => {
  const view = new ClusterView(keys);
  view.replace([kv("10.0.0.1", 5), kv("10.0.0.2", 6)], 6, NOW);
  const update = view.replace([kv("10.0.0.1", 5), kv("10.0.0.3", 9)], 10, NOW);
  expect(summary(update.changes)).toEqual([
    "remove blocks/source/10.0.0.2 (deleted)",
    "add blocks/source/10.0.0.3",
  ]);
  expect(view.revision).toBe(10);
});

test("a snapshot at a lower revision (etcd's history restarted) re-reads every entry", () => {
  const view = new ClusterView(keys);
  view.replace([kv("10.0.0.1", 50)], 50, NOW);
  view.put(kv("10.0.0.1", 60), NOW);
  const update = view.replace([kv("10.0.0.1", 2, block("10.0.0.1", NOW + 120_000))], 3, NOW);
  expect(summary(update.changes)).toEqual(["add blocks/source/10.0.0.1"]);
  expect(view.revision).toBe(3);
  // And later events of the new history apply, though their revisions are below the old ones.
  expect(summary(view.delete(`${keys.blocks}source/10.0.0.1`, 4).changes)).toEqual([
    "remove blocks/source/10.0.0.1 (deleted)",
  ]);
});

test("destinations are their own kind", () => {
  const view = new ClusterView(keys);
  const value = JSON.stringify({
    address: "2001:db8::20",
    appId: 7,
    app: "youtube",
    source: "dns",
    origin: "cl-b",
    expiresAt: NOW + 30_000,
  });
  const update = view.put({ key: `${keys.destinations}2001:db8::20`, value, modRevision: 2 }, NOW);
  expect(update.changes).toEqual([
    {
      kind: "destination",
      change: {
        op: "add",
        entry: {
          key: `${keys.destinations}2001:db8::20`,
          address: "2001:db8::20",
          appId: 7,
          app: "youtube",
          source: "dns",
          origin: "cl-b",
          expiresAt: NOW + 30_000,
        },
      },
    },
  ]);
  expect(view.count("destination")).toBe(1);
  expect(view.count("block")).toBe(0);
});
