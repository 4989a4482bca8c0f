// Cross-node propagation of a block through etcd: from publishBlock() on one
// ClusterState to the add delivered to the handler of another, both on one
// real etcd (Debian's etcd-server, started here on loopback with a temp data
// dir). Baseline, measured the same way in the same run: a raw etcd3 put on
// one client to the watch event on another client, with no lease, no
// validation and no handler. In both variants both "nodes" watch the prefix
// (a publishing node sees its own entries come back), and both live in this
// one process, so the receiving work of both lands on the same event loop.
//
// - sequential: one block at a time, the next published once the previous
//   arrived; COUNT blocks per variant, in ROUNDS rounds alternating which
//   variant goes first, after WARMUP unmeasured ones.
// - burst: COUNT blocks published at once; each block's latency is from the
//   start of the burst to its own delivery (so the p99 is close to the time
//   to move the whole burst).
import { Etcd3 } from "etcd3";
import { performance } from "node:perf_hooks";
import { ClusterState } from "../../agent/src/cluster/cluster-state";
import { LocalEtcd } from "../../agent/src/cluster/local-etcd";

const COUNT = 1000;
const ROUNDS = 10;
const WARMUP = 100;
const SITE = "cl-bench";

interface Variant {
  readonly name: string;
  /** Starts delivering key `i` and resolves when the other side saw it. */
  send(i: number): Promise<void>;
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Resolves waiters by key when the receiving side reports that key. */
class Arrivals {
  private readonly waiting = new Map<string, () => void>();

  expect(key: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }

  arrived(key: string): void {
    const resolve = this.waiting.get(key);
    this.waiting.delete(key);
    resolve?.();
  }
}

async function rawVariant(endpoint: string): Promise<{ variant: Variant; close(): Promise<void> }> {
  const writer = new Etcd3({ hosts: endpoint });
  const reader = new Etcd3({ hosts: endpoint });
  const arrivals = new Arrivals();
  const watcher = await reader.watch().prefix("/bench/raw/").create();
  watcher.on("put", (kv) => arrivals.arrived(kv.key.toString()));
  const ownWatcher = await writer.watch().prefix("/bench/raw/").create();
  ownWatcher.on("put", (kv) => kv.value.toString());
  return {
    variant: {
      name: "raw etcd3 put -> watch",
      async send(i) {
        const key = `/bench/raw/${i}`;
        const seen = arrivals.expect(key);
        await writer.put(key).value(JSON.stringify({ i, at: Date.now() }));
        await seen;
      },
    },
    async close() {
      await Promise.all([watcher.cancel(), ownWatcher.cancel()]);
      writer.close();
      reader.close();
    },
  };
}

async function clusterVariant(endpoint: string): Promise<{ variant: Variant; close(): Promise<void> }> {
  const publisher = new ClusterState({ endpoints: [endpoint], site: SITE, node: "cl-a" });
  const receiver = new ClusterState({ endpoints: [endpoint], site: SITE, node: "cl-b" });
  const arrivals = new Arrivals();
  publisher.watch({ onBlock: () => undefined, onDestination: () => undefined });
  receiver.watch({
    onBlock: (change) => {
      if (change.op === "add") arrivals.arrived(change.entry.key);
    },
    onDestination: () => undefined,
  });
  await Promise.all([publisher.synced(), receiver.synced()]);
  return {
    variant: {
      name: "ClusterState publishBlock -> handler",
      async send(i) {
        // A fresh address per block: every publication is a new key, as with real blocks.
        const address = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
        const seen = arrivals.expect(`${publisher.keys.blocks}source/${address}`);
        await publisher.publishBlock({
          kind: "block",
          target: { scope: "source", address },
          ttlMs: 300_000,
          reason: "bench",
          cause: "risk",
        });
        await seen;
      },
    },
    async close() {
      await Promise.all([publisher.close(), receiver.close()]);
    },
  };
}

async function sequential(variant: Variant, from: number, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = from; i < from + count; i++) {
    const started = performance.now();
    await variant.send(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function burst(variant: Variant, from: number, count: number): Promise<number[]> {
  const started = performance.now();
  return Promise.all(
    Array.from({ length: count }, (_, k) => variant.send(from + k).then(() => performance.now() - started)),
  );
}

async function main(): Promise<void> {
  const etcd = await LocalEtcd.launch();
  try {
    const raw = await rawVariant(etcd.endpoint);
    const cluster = await clusterVariant(etcd.endpoint);
    const samples = new Map<Variant, number[]>([
      [raw.variant, []],
      [cluster.variant, []],
    ]);
    for (const v of samples.keys()) await sequential(v, 60_000, WARMUP);
    const perRound = COUNT / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [raw.variant, cluster.variant] : [cluster.variant, raw.variant];
      for (const v of order) samples.get(v)?.push(...(await sequential(v, round * perRound, perRound)));
    }
    const bursts = new Map<Variant, number[]>();
    for (const v of [raw.variant, cluster.variant]) bursts.set(v, await burst(v, 100_000, COUNT));
    await raw.close();
    await cluster.close();

    const report = (label: string, results: Map<Variant, number[]>) => {
      for (const [v, s] of results) {
        console.log(
          `${label} ${v.name}: n=${s.length} p50=${percentile(s, 50).toFixed(3)} ms p99=${percentile(s, 99).toFixed(3)} ms max=${Math.max(...s).toFixed(3)} ms`,
        );
      }
    };
    report("sequential", samples);
    report("burst", bursts);

    const bench = (name: string, results: Map<Variant, number[]>, p: number) => {
      const value = percentile(results.get(cluster.variant) ?? [], p);
      const baseline = percentile(results.get(raw.variant) ?? [], p);
      console.log(
        `BENCH ${name} value=${value.toFixed(3)} unit=ms baseline=${baseline.toFixed(3)} ratio=${(value / baseline).toFixed(3)}`,
      );
    };
    bench("cluster_block_propagation_p50_ms", samples, 50);
    bench("cluster_block_propagation_p99_ms", samples, 99);
    bench("cluster_block_burst_p99_ms", bursts, 99);
  } finally {
    await etcd.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
