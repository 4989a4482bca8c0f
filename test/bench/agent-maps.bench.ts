// The agent's eBPF map writes against the tools an operator would otherwise use,
// every baseline measured in this run on this kernel:
// - agent_map_entries_per_s: 100k flow entries offloaded through the runtime
//   writer (read-modify-write per entry, libbpf addon); baseline: the same 100k
//   entries written by `bpftool batch file` (one process, one syscall per line).
// - agent_api_map_entries_per_s: a 100k-entry program (7 policy maps) PUT through
//   the real agent process (HTTPS, validation, merge, batched writes); baseline:
//   the same entries through `bpftool batch file`.
// - agent_noop_apply_ms (issue 4's name): the second PUT of that program (0 map writes);
//   baseline: the first PUT.
// - agent_block_elements_per_s: 10k source blocks through the runtime writer
//   (one batch + block_generation bump); baseline: one `nft add element`
//   process per element, measured on a sample of 200.
// Needs root (bpffs, namespaces). Prints its BENCH lines last.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { encode, encodeU32, flowKeyOf, lpmPrefix, MAP_NAMES, PROGRAMS, type FlowKey } from "../../sdk/abi";
import { LAYOUTS } from "../../sdk/abi/layout";
import { sealProgram, type NodeProgram, type NodeProgramSpec } from "../../sdk/compile";
import { nativeBpf } from "../../agent/src/bpf/native";
import { RuntimeMaps } from "../../agent/src/bpf/runtime-maps";
import { MapsLab, OBJECTS_DIR } from "../../agent/test/dataplane/maps-lab";

const FLOWS = 100_000;
const BLOCKS = 10_000;
const NFT_SAMPLE = 200;
const PER_MAP = [14_286, 14_286, 14_286, 14_286, 14_286, 14_286, 14_284];

const lines: string[] = [];
function bench(name: string, value: number, unit: string, baseline: number): void {
  lines.push(
    `BENCH ${name} value=${value.toFixed(1)} unit=${unit} baseline=${baseline.toFixed(1)} ratio=${(value / baseline).toFixed(3)}`,
  );
}

const hexBytes = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Seconds `bpftool batch file` takes to run the lines. */
function bpftoolBatch(dir: string, batch: string[]): number {
  const file = join(dir, "batch.txt");
  writeFileSync(file, batch.join("\n") + "\n");
  const started = performance.now();
  execFileSync("bpftool", ["batch", "file", file], { stdio: "ignore" });
  return (performance.now() - started) / 1000;
}

function flowKeys(n: number): FlowKey[] {
  return Array.from(
    { length: n },
    (_, i) =>
      flowKeyOf({
        src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        dst: "192.0.2.10",
        sport: 1024 + (i % 50_000),
        dport: 443,
        proto: 6,
      }).key,
  );
}

/** A program of `PER_MAP` entries in each policy map, as a compiler would emit it. */
function largeProgram(): NodeProgram {
  const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const [q, a, r, s, c, w, x] = PER_MAP as [number, number, number, number, number, number, number];
  const maps: NodeProgramSpec["maps"] = {
    [MAP_NAMES.qosClasses]: range(q).map((i) => ({
      key: { class_id: i },
      value: { skb_priority: 0x10000 + i, dscp: i % 64 },
    })),
    [MAP_NAMES.appPolicy]: range(a).map((i) => ({ key: { app_id: i }, value: { class_id: i, flags: 1 } })),
    [MAP_NAMES.routePolicy]: range(r).map((i) => ({
      key: { segment_id: i % 7, app_id: i },
      value: { mark: 0x10 },
    })),
    [MAP_NAMES.segments]: range(s).map((i) => ({ key: { prefix: ip(i) }, value: { id: 1 } })),
    [MAP_NAMES.critical]: range(c).map((i) => ({ key: { prefix: ip(100_000 + i) }, value: { id: 1 } })),
    [MAP_NAMES.watch]: range(w).map((i) => ({ key: { prefix: ip(200_000 + i) }, value: { id: 1 } })),
    [MAP_NAMES.inspectSelect]: range(x).map((i) => ({ key: { prefix: ip(300_000 + i) }, value: { id: 1 } })),
  };
  const spec: NodeProgramSpec = { config: {}, maps, tc: [], ipRules: [], routes: [], runtime: {} };
  const metadata = {
    name: "bench-large-maps",
    site: "am-lab",
    node: "router",
    source: { kind: "Bench", name: "maps" },
  };
  return sealProgram(metadata, spec);
}

/** The bpftool batch lines writing the program's entries, as bytes sdk/abi encodes. */
function programBatch(pinRoot: string, program: NodeProgram): string[] {
  const out: string[] = [];
  for (const [map, entries] of Object.entries(program.spec.maps)) {
    for (const { key, value } of entries) {
      const n = (v: unknown) => v as number;
      const [k, v] =
        map === MAP_NAMES.qosClasses
          ? [
              encodeU32(n(key.class_id)),
              encode("qosClass", { skbPriority: n(value.skb_priority), dscp: n(value.dscp) }),
            ]
          : map === MAP_NAMES.appPolicy
            ? [
                encodeU32(n(key.app_id)),
                encode("appPolicy", { classId: n(value.class_id), flags: n(value.flags) }),
              ]
            : map === MAP_NAMES.routePolicy
              ? [
                  encode("routeKey", { segmentId: n(key.segment_id), appId: n(key.app_id) }),
                  encode("routeTarget", { mark: n(value.mark) }),
                ]
              : [encode("lpmKey", lpmPrefix(key.prefix as string)), encodeU32(n(value.id))];
      out.push(`map update pinned ${join(pinRoot, map)} key hex ${hexBytes(k)} value hex ${hexBytes(v)}`);
    }
  }
  return out;
}

function runtimeWriters(dir: string, pinRoot: string): void {
  const bpf = nativeBpf();
  mkdirSync(join(pinRoot, "progs"), { recursive: true });
  for (const p of Object.values(PROGRAMS)) {
    bpf.loadObject(OBJECTS_DIR, p.object, pinRoot, join(pinRoot, "progs", p.name));
  }
  const keys = flowKeys(FLOWS);
  const value = hexBytes(Buffer.alloc(LAYOUTS.flow.size));
  const baseline = bpftoolBatch(
    dir,
    keys.map(
      (k) =>
        `map update pinned ${join(pinRoot, MAP_NAMES.flows)} key hex ${hexBytes(encode("flowKey", k))} value hex ${value}`,
    ),
  );
  const runtime = RuntimeMaps.open(bpf, pinRoot);
  const flows = keys.map((key, i) => ({ key, appId: 1 + (i % 100) }));
  let started = performance.now();
  const offloaded = runtime.offloadFlows(flows).count;
  const agent = (performance.now() - started) / 1000;
  if (offloaded !== FLOWS) throw new Error(`offloaded ${offloaded} of ${FLOWS} flows`);
  if (runtime.flowsByState().offloaded !== FLOWS)
    throw new Error("the flow table does not hold the offloads");
  console.log(
    `flows: runtime writer ${agent.toFixed(3)} s, bpftool batch ${baseline.toFixed(3)} s for ${FLOWS}`,
  );
  bench("agent_map_entries_per_s", FLOWS / agent, "entries/s", FLOWS / baseline);

  const blocks = Array.from({ length: BLOCKS }, (_, i) => ({
    target: `198.18.${(i >> 8) & 255}.${i & 255}`,
    expiresNs: 0n,
    reason: 1,
  }));
  started = performance.now();
  const written = runtime.addBlocks("source", blocks);
  const blockSeconds = (performance.now() - started) / 1000;
  if (written !== BLOCKS) throw new Error(`wrote ${written} of ${BLOCKS} blocks`);
  const nftSeconds = nftPerElement(
    `arb${process.pid % 10_000}`,
    blocks.slice(0, NFT_SAMPLE).map((b) => b.target),
  );
  console.log(
    `blocks: runtime writer ${blockSeconds.toFixed(4)} s for ${BLOCKS}, nft ${nftSeconds.toFixed(3)} s for ${NFT_SAMPLE}`,
  );
  bench("agent_block_elements_per_s", BLOCKS / blockSeconds, "elements/s", NFT_SAMPLE / nftSeconds);
  runtime.close();
}

/** Seconds for one `nft add element` process per address, into a set in a namespace of its own. */
function nftPerElement(ns: string, addresses: string[]): number {
  execFileSync("ip", ["netns", "add", ns]);
  try {
    const nft = (...args: string[]) =>
      execFileSync("ip", ["netns", "exec", ns, "nft", ...args], { stdio: "ignore" });
    nft("add", "table", "inet", "am_bench");
    nft("add", "set", "inet", "am_bench", "block_src", "{ type ipv4_addr; flags timeout; }");
    const started = performance.now();
    for (const a of addresses) nft("add", "element", "inet", "am_bench", "block_src", `{ ${a} }`);
    return (performance.now() - started) / 1000;
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
  }
}

async function throughTheAgent(dir: string, pinRoot: string): Promise<void> {
  const program = largeProgram();
  const entries = PER_MAP.reduce((a, b) => a + b, 0);
  const baseline = bpftoolBatch(dir, programBatch(pinRoot, program));
  const lab = new MapsLab(`ar${process.pid % 1000}`);
  try {
    await lab.setup();
    await lab.start();
    const client = lab.client;
    let started = performance.now();
    const first = await client.putProgram(program);
    const firstMs = performance.now() - started;
    if (first.writes.maps < entries) throw new Error(`first PUT wrote ${first.writes.maps} map entries`);
    started = performance.now();
    const second = await client.putProgram(program);
    const secondMs = performance.now() - started;
    if (second.writes.maps !== 0) throw new Error(`second PUT wrote ${second.writes.maps} map entries`);
    console.log(
      `program of ${entries} entries: PUT ${firstMs.toFixed(0)} ms (agent ${first.durationMs.toFixed(0)} ms), ` +
        `again ${secondMs.toFixed(0)} ms; bpftool batch ${(baseline * 1000).toFixed(0)} ms`,
    );
    bench("agent_api_map_entries_per_s", entries / (firstMs / 1000), "entries/s", entries / baseline);
    bench("agent_noop_apply_ms", secondMs, "ms", firstMs);
  } finally {
    await lab.teardown();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "am-bench-"));
  const bpffs = join(dir, "bpffs");
  mkdirSync(bpffs);
  execFileSync("mount", ["-t", "bpf", "bpf", bpffs]);
  try {
    const pinRoot = join(bpffs, "fos1");
    runtimeWriters(dir, pinRoot);
    await throughTheAgent(dir, pinRoot);
  } finally {
    execFileSync("umount", [bpffs]);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const line of lines) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
