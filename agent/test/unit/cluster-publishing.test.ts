import { Backoff } from "../../src/cluster/backoff";
import { bucketEnd, LeasePool } from "../../src/cluster/lease-pool";
import { PublishQueue, type PendingWrite } from "../../src/cluster/publish-queue";

const NOW = 1_700_000_000_000;

function write(key: string, expiresAt = NOW + 60_000): PendingWrite {
  return { kind: "block", key, value: "{}", expiresAt };
}

describe("lease buckets", () => {
  test("an entry expires at the end of its bucket, late by at most 1/20 of its TTL (and at least by the second)", () => {
    for (const ttl of [1_500, 20_000, 300_000, 3_600_000, 86_400_000]) {
      for (const offset of [0, 1, 777, 59_999]) {
        const expiresAt = NOW + offset + ttl;
        const end = bucketEnd(expiresAt, NOW + offset);
        expect(end).toBeGreaterThanOrEqual(expiresAt);
        expect(end - expiresAt).toBeLessThanOrEqual(Math.max(1_000, ttl / 20));
      }
    }
  });

  test("10k entries with one TTL published over a second share at most two leases", async () => {
    const granted: number[] = [];
    const pool = new LeasePool(async (ttl) => {
      granted.push(ttl);
      return String(granted.length);
    });
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const now = NOW + Math.floor(i / 10);
      ids.add(await pool.leaseFor(now + 300_000, now));
    }
    expect(ids.size).toBeLessThanOrEqual(2);
    // The lease lasts until its bucket ends: never shorter than the entry's TTL.
    expect(Math.min(...granted)).toBeGreaterThanOrEqual(300);
  });

  test("a failed grant is asked again by the next entry; clear() forgets every lease", async () => {
    let calls = 0;
    const pool = new LeasePool(async () => {
      calls++;
      if (calls === 1) throw new Error("etcd unavailable");
      return `lease-${calls}`;
    });
    await expect(pool.leaseFor(NOW + 10_000, NOW)).rejects.toThrow("etcd unavailable");
    await expect(pool.leaseFor(NOW + 10_000, NOW)).resolves.toBe("lease-2");
    await expect(pool.leaseFor(NOW + 10_000, NOW)).resolves.toBe("lease-2");
    pool.clear();
    await expect(pool.leaseFor(NOW + 10_000, NOW)).resolves.toBe("lease-3");
  });

  test("leases whose bucket has ended are let go", async () => {
    const pool = new LeasePool(async (ttl) => `ttl-${ttl}`);
    await pool.leaseFor(NOW + 2_000, NOW);
    expect(pool.size).toBe(1);
    await pool.leaseFor(NOW + 100_000, NOW + 10_000);
    expect(pool.size).toBe(1);
  });
});

describe("publish queue", () => {
  test("keeps one write per key, the newest, in the order they were last queued", () => {
    const queue = new PublishQueue(10);
    queue.add(write("a"));
    queue.add(write("b"));
    const newer = write("a", NOW + 90_000);
    queue.add(newer);
    expect(queue.peek(10).map((w) => w.key)).toEqual(["b", "a"]);
    expect(queue.peek(10)[1]).toBe(newer);
  });

  test("when full, drops the oldest and says which", () => {
    const queue = new PublishQueue(2);
    queue.add(write("a"));
    queue.add(write("b"));
    expect(queue.add(write("c"))?.key).toBe("a");
    expect(queue.peek(10).map((w) => w.key)).toEqual(["b", "c"]);
  });

  test("settling a write that a newer publication replaced keeps the newer one queued", () => {
    const queue = new PublishQueue(10);
    const first = write("a");
    queue.add(first);
    const batch = queue.peek(10);
    const second = write("a", NOW + 90_000);
    queue.add(second);
    expect(queue.settle(batch)).toEqual([]);
    expect(queue.peek(10)).toEqual([second]);
    expect(queue.settle([second])).toEqual([second]);
    expect(queue.size).toBe(0);
  });
});

test("backoff doubles from the initial delay up to the maximum, with jitter between half and all of it", () => {
  const low = new Backoff(100, 1_000, () => 0);
  const high = new Backoff(100, 1_000, () => 0.999999);
  expect(Array.from({ length: 6 }, () => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
  expect(Array.from({ length: 6 }, () => high.next())).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  high.reset();
  expect(high.next()).toBe(100);
});
