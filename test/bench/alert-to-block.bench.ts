// Inspection to enforcement, through the real agents: two router namespaces,
// each with its agent process (eBPF on), sharing one etcd (Debian's
// etcd-server, served on a unix socket the namespaces reach through the file
// system).
//
// - alert_to_block_p99_ms: a real EVE alert line (testdata, moved to a fresh
//   source address each time) written to router A's EVE socket, until the
//   first packet from that source that A's attached LAN ingress program drops
//   (BPF_PROG_TEST_RUN of the pinned program against the live maps, repeated
//   until it answers TC_ACT_SHOT). Baseline: what an external bouncer pays per
//   block without any polling delay, one `nft add element` process into a set
//   (CrowdSec's firewall bouncer adds its 10 s default poll on top of that).
// - alert_to_block_cross_node_p99_ms: the same alert, until router B's program
//   drops that source. Baseline: a raw etcd put -> watch event between two
//   clients on the same server, measured here.
// - classify_to_mark_p99_ms: an EVE flow record naming the flow's application
//   (ftp: the DESIGN.md bulk class, DSCP CS1), until A's egress classifier
//   writes CS1 into that flow's packets. Baseline: one `bpftool map update`
//   process writing a runtime entry, the per-entry tool path.
// The first alerts and records of each series warm the agents up and are not
// counted. Needs root. Prints its BENCH lines last.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { Etcd3 } from "etcd3";
import { LocalEtcd } from "../../agent/src/cluster/local-etcd";
import { nativeBpf } from "../../agent/src/bpf/native";
import { eveAlert, eveFlow, eveWriter } from "../../agent/test/dataplane/eve-records";
import { MapsLab, SERVER } from "../../agent/test/dataplane/maps-lab";
import { dscpOf, ipv4Packet } from "./lib/ipv4-packet";

const run = promisify(execFile);
const ALERTS = 1000;
const WARMUP = 20;
const FLOWS = 300;
const BASELINE_SAMPLES = 100;
const TC_ACT_SHOT = 2;
const CS1 = 8;

const FIREWALL_YAML = `apiVersion: networking.fos1.io/v1
kind: FirewallPolicy
metadata: { name: bench-firewall }
spec:
  blocks: { riskThreshold: 80, scope: source, ttl: 1h }
`;

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Repeats `probe` every 50 us until it holds; the time it first held. The
 * waits sleep (no busy loop), so the agents and etcd keep the CPUs they need.
 */
function spinUntil(what: string, probe: () => boolean, timeoutMs = 10_000): number {
  const started = performance.now();
  for (;;) {
    if (probe()) return performance.now();
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    Atomics.wait(nap, 0, 0, 0.05);
  }
}

function report(name: string, samples: readonly number[], baseline: readonly number[]): string {
  const value = percentile(samples, 99);
  const base = percentile(baseline, 99);
  console.log(
    `${name}: p50 ${percentile(samples, 50).toFixed(3)} ms, p99 ${value.toFixed(3)} ms over ${samples.length}; baseline p50 ${percentile(baseline, 50).toFixed(3)} ms, p99 ${base.toFixed(3)} ms over ${baseline.length}`,
  );
  return `BENCH ${name} value=${value.toFixed(3)} unit=ms baseline=${base.toFixed(3)} ratio=${(value / base).toFixed(4)}`;
}

function qosPolicyYaml(): string {
  const design = readFileSync(join(__dirname, "..", "..", "examples", "policies", "design.yaml"), "utf8");
  const doc = design.split(/^---$/m).find((d) => /kind: QoSPolicy/.test(d));
  if (!doc) throw new Error("examples/policies/design.yaml holds no QoSPolicy");
  return doc;
}

async function etcdPutToWatch(endpoint: string): Promise<number[]> {
  const writer = new Etcd3({ hosts: [endpoint] });
  const reader = new Etcd3({ hosts: [endpoint] });
  const waiting = new Map<string, () => void>();
  const watcher = await reader.watch().prefix("/bench/raw/").create();
  watcher.on("put", (kv) => waiting.get(kv.key.toString())?.());
  const samples: number[] = [];
  try {
    for (let i = 0; i < BASELINE_SAMPLES; i++) {
      const key = `/bench/raw/${i}`;
      const arrived = new Promise<void>((resolve) => waiting.set(key, resolve));
      const t0 = performance.now();
      await writer.put(key).value("x");
      await arrived;
      samples.push(performance.now() - t0);
    }
  } finally {
    await watcher.cancel();
    writer.close();
    reader.close();
  }
  return samples;
}

async function timedProcesses(ns: string, args: (i: number) => string[]): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < BASELINE_SAMPLES; i++) {
    const t0 = performance.now();
    await run("ip", ["netns", "exec", ns, ...args(i)]);
    samples.push(performance.now() - t0);
  }
  return samples;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fos1-bench-etcd-"));
  const etcd = await LocalEtcd.launch({ socketDir: dir });
  const a = new MapsLab("ba", "bench-a");
  const b = new MapsLab("bb", "bench-b");
  const eveSocket = join(a.dir, "eve.sock");
  const bpf = nativeBpf();
  const fds: number[] = [];
  try {
    const cluster = { endpoints: [etcd.socketEndpoint], site: "bench" };
    // The agent's default drift-repair interval (the test labs use 300 ms to see repairs quickly).
    const reconcileInterval = "5s";
    await a.setup({
      ingest: { sources: [{ type: "eve-socket", path: eveSocket }], alerts: "none" },
      cluster,
      reconcileInterval,
    });
    await b.setup({ cluster, reconcileInterval });
    await Promise.all([a.start(), b.start()]);
    for (const p of a.compile(`${FIREWALL_YAML}---\n${qosPolicyYaml()}`)) await a.client.putProgram(p);
    for (const p of b.compile(FIREWALL_YAML)) await b.client.putProgram(p);
    for (const lab of [a, b]) {
      for (let i = 0; !(await lab.client.runtimeStatus()).cluster?.connected; i++) {
        if (i > 200) throw new Error(`${lab.node} did not connect to etcd`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const prog = (lab: MapsLab, name: string) => {
      const fd = bpf.objGet(join(lab.pinRoot, "progs", name));
      fds.push(fd);
      return fd;
    };
    const aLan = prog(a, "fos1_ingress_lan");
    const bLan = prog(b, "fos1_ingress_lan");
    const aEgress = prog(a, "fos1_egress_classify");
    const writer = await eveWriter(eveSocket);
    const send = (line: string) => new Promise<void>((resolve) => writer.write(line, () => resolve()));

    const local: number[] = [];
    const remote: number[] = [];
    // The first alerts also warm up the agents' code paths (JIT): they are sent but not counted.
    for (let i = 0; i < WARMUP + ALERTS; i++) {
      const src = `10.30.${i >> 8}.${i & 255}`;
      const packet = ipv4Packet({ src, dst: SERVER, sport: 40000, dport: 80, proto: "udp" });
      if (
        bpf.progTestRun(aLan, packet).retval === TC_ACT_SHOT ||
        bpf.progTestRun(bLan, packet).retval === TC_ACT_SHOT
      )
        throw new Error(`${src} is dropped before its alert`);
      const t0 = performance.now();
      await send(eveAlert(1, src, SERVER));
      const dropA = spinUntil("drop on A", () => bpf.progTestRun(aLan, packet).retval === TC_ACT_SHOT) - t0;
      const dropB = spinUntil("drop on B", () => bpf.progTestRun(bLan, packet).retval === TC_ACT_SHOT) - t0;
      if (i < WARMUP) continue;
      local.push(dropA);
      remote.push(dropB);
      if ((i + 1 - WARMUP) % 250 === 0) console.log(`alerts: ${i + 1 - WARMUP}/${ALERTS}`);
    }

    const marks: number[] = [];
    for (let i = 0; i < WARMUP + FLOWS; i++) {
      // A destination of its own: a classified flow teaches the agent its server's application, and
      // a later flow to that server would start classified (the app -> destination cache at work).
      const flow = {
        src: `10.10.3.${1 + (i % 250)}`,
        dst: `198.18.${i >> 8}.${i & 255}`,
        sport: 30000 + i,
        dport: 21,
        proto: "tcp" as const,
      };
      const packet = ipv4Packet(flow);
      bpf.progTestRun(aLan, packet);
      if (dscpOf(bpf.progTestRun(aEgress, packet).packet) === CS1)
        throw new Error("classified before its record");
      const t0 = performance.now();
      await send(eveFlow("ftp", { ...flow, proto: "TCP" }));
      const marked =
        spinUntil("CS1 on egress", () => dscpOf(bpf.progTestRun(aEgress, packet).packet) === CS1) - t0;
      if (i >= WARMUP) marks.push(marked);
    }
    writer.destroy();

    await a.exec(a.ns.router, "nft", [
      "add table inet fos1bench; add set inet fos1bench blocked { type ipv4_addr; }",
    ]);
    const nftBaseline = await timedProcesses(a.ns.router, (i) => [
      "nft",
      `add element inet fos1bench blocked { 10.40.${i >> 8}.${i & 255} }`,
    ]);
    const etcdBaseline = await etcdPutToWatch(etcd.endpoint);
    const appDest = join(a.pinRoot, "fos1_app_dest");
    const bpftoolBaseline = await timedProcesses(a.ns.router, (i) => [
      "bpftool",
      "map",
      "update",
      "pinned",
      appDest,
      "key",
      ...`0 0 0 0 0 0 0 0 0 0 255 255 10 50 ${i >> 8} ${i & 255}`.split(" "),
      "value",
      ...`1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0`.split(" "),
    ]);

    const lines = [
      report("alert_to_block_p99_ms", local, nftBaseline),
      report("alert_to_block_cross_node_p99_ms", remote, etcdBaseline),
      report("classify_to_mark_p99_ms", marks, bpftoolBaseline),
    ];
    console.log(lines.join("\n"));
  } finally {
    for (const fd of fds) bpf.close(fd);
    await Promise.all([a.teardown(), b.teardown()]);
    await etcd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
