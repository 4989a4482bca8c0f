// Forwarding through a router namespace with the fos1 programs attached:
// 64-byte UDP from trafgen on the slow path (mirror clone + nftables) versus the
// same flow offloaded, and bulk TCP (iperf3) per attach mode versus no
// programs. Senders and receivers are pinned to their CPUs; every round
// measures every mode (TCP modes twice), in an order that reverses each round,
// and the figures are medians with the spread of the paired ratios printed
// before them.
// Needs root; namespaces and interfaces carry the "fp" prefix and are removed
// at the end, also after a failure. Prints its BENCH lines last.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  APP_OFFLOAD_ALLOWED,
  CFG_INSPECT_ALL,
  CFG_OFFLOAD_ENABLED,
  FLOW_F_ORIG_A,
  FLOW_F_SELECTED,
  FlowState,
  MAP_NAMES,
  PROGRAMS,
  STATS,
  type StatName,
  encode,
  encodeU32,
  flowKeyOf,
  type Config,
  type Flow,
} from "@fos1/dpi/sdk/abi";
import { NetnsLab } from "../dataplane/lib";

const BPF_BUILD = join(__dirname, "..", "..", "bpf", "build");
// Every namespace, interface and file this benchmark makes carries this prefix.
const PREFIX = "fp";
const ROUNDS = 7;
const UDP_SECONDS = 3;
const TCP_SECONDS = 3;
const APP_ID = 4242;
// Two CPUs: the sender (and with it the router's softirq work, which veth runs on the sending CPU) on one, the receiver on the other.
const CPU_SEND = "0";
const CPU_RECEIVE = "1";
const MAC = {
  src: "02:fb:0f:00:00:01",
  rtrLan: "02:fb:0f:00:00:02",
  rtrWan: "02:fb:0f:00:00:03",
  dst: "02:fb:0f:00:00:04",
};
const UDP = { src: "10.10.1.2", dst: "10.10.2.2", sport: 40000, dport: 9, proto: 17 };
const TCP = { src: "10.10.1.2", dst: "10.10.2.2", sport: 45000, dport: 5201, proto: 6 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, "0"));

interface Router {
  lab: NetnsLab;
  src: string;
  rtr: string;
  dst: string;
  pinRoot: string;
  mirrorIfindex: number;
}

function build(lab: NetnsLab, pinRoot: string): Router {
  const src = lab.namespace("src");
  const rtr = lab.namespace("rtr");
  const dst = lab.namespace("dst");
  lab.veth({ ns: src, name: "fps0", mac: MAC.src }, { ns: rtr, name: "fpr0", mac: MAC.rtrLan });
  lab.veth({ ns: rtr, name: "fpr1", mac: MAC.rtrWan }, { ns: dst, name: "fpd0", mac: MAC.dst });
  lab.veth({ ns: rtr, name: "fpm0" }, { ns: rtr, name: "fpm1" });
  lab.exec(src, "ip", ["addr", "add", "10.10.1.2/24", "dev", "fps0"]);
  lab.exec(src, "ip", ["route", "add", "default", "via", "10.10.1.1"]);
  lab.exec(src, "ip", [
    "neigh",
    "replace",
    "10.10.1.1",
    "lladdr",
    MAC.rtrLan,
    "dev",
    "fps0",
    "nud",
    "permanent",
  ]);
  lab.exec(rtr, "ip", ["addr", "add", "10.10.1.1/24", "dev", "fpr0"]);
  lab.exec(rtr, "ip", ["addr", "add", "10.10.2.1/24", "dev", "fpr1"]);
  lab.exec(rtr, "ip", [
    "neigh",
    "replace",
    "10.10.2.2",
    "lladdr",
    MAC.dst,
    "dev",
    "fpr1",
    "nud",
    "permanent",
  ]);
  lab.exec(rtr, "ip", [
    "neigh",
    "replace",
    "10.10.1.2",
    "lladdr",
    MAC.src,
    "dev",
    "fpr0",
    "nud",
    "permanent",
  ]);
  lab.exec(rtr, "sysctl", ["-qw", "net.ipv4.conf.all.forwarding=1"]);
  lab.exec(dst, "ip", ["addr", "add", "10.10.2.2/24", "dev", "fpd0"]);
  lab.exec(dst, "ip", ["route", "add", "default", "via", "10.10.2.1"]);
  // The router's slow path: a stateful forward chain, as a firewall has.
  lab.exec(
    rtr,
    "nft",
    ["-f", "-"],
    [
      "table inet fpfilter {",
      "  chain forward {",
      "    type filter hook forward priority 0; policy drop;",
      "    ct state established,related accept",
      '    iifname "fpr0" oifname "fpr1" ip daddr 10.10.2.0/24 udp dport 9 accept',
      '    iifname "fpr0" oifname "fpr1" ip daddr 10.10.2.0/24 tcp dport 5201 accept',
      "  }",
      "}",
    ].join("\n"),
  );
  // The sink answers nothing: unreachable replies would cost the router, not the path measured.
  lab.exec(
    dst,
    "nft",
    ["-f", "-"],
    [
      "table inet fpsink {",
      "  chain in {",
      "    type filter hook input priority 0;",
      "    udp dport 9 drop",
      "  }",
      "}",
    ].join("\n"),
  );
  const mirrorIfindex = Number(lab.exec(rtr, "cat", ["/sys/class/net/fpm0/ifindex"]).trim());
  return { lab, src, rtr, dst, pinRoot, mirrorIfindex };
}

function mapUpdate(r: Router, map: string, key: Buffer, value: Buffer): void {
  execFileSync("bpftool", [
    "map",
    "update",
    "pinned",
    join(r.pinRoot, map),
    "key",
    "hex",
    ...hex(key),
    "value",
    "hex",
    ...hex(value),
  ]);
}

function attach(r: Router): void {
  execFileSync(join(BPF_BUILD, "fos1-load"), [BPF_BUILD, r.pinRoot], { stdio: "pipe" });
  const prog = (p: { name: string }) => join(r.pinRoot, "progs", p.name);
  for (const dev of ["fpr0", "fpr1"]) r.lab.exec(r.rtr, "tc", ["qdisc", "add", "dev", dev, "clsact"]);
  r.lab.exec(r.rtr, "tc", [
    "filter",
    "add",
    "dev",
    "fpr0",
    "ingress",
    "bpf",
    "da",
    "pinned",
    prog(PROGRAMS.ingressLan),
  ]);
  r.lab.exec(r.rtr, "tc", [
    "filter",
    "add",
    "dev",
    "fpr1",
    "ingress",
    "bpf",
    "da",
    "pinned",
    prog(PROGRAMS.ingressUplink),
  ]);
  r.lab.exec(r.rtr, "tc", [
    "filter",
    "add",
    "dev",
    "fpr1",
    "egress",
    "bpf",
    "da",
    "pinned",
    prog(PROGRAMS.egressClassify),
  ]);
}

function detach(r: Router): void {
  for (const dev of ["fpr0", "fpr1"]) r.lab.exec(r.rtr, "tc", ["qdisc", "del", "dev", dev, "clsact"]);
}

function configure(r: Router, offload: boolean): void {
  const config: Config = {
    flags: CFG_INSPECT_ALL | (offload ? CFG_OFFLOAD_ENABLED : 0),
    sampleOneIn: 64,
    reinspectAfterNs: 0n,
    mirrorIfindex: r.mirrorIfindex,
    fwmarkMask: 0,
    classMarkMask: 0,
    classMarkShift: 0,
    offloadLeaseUntilNs: 0n,
    blockGeneration: 0,
    policyGeneration: 0,
    nexthopTtlNs: 1_000_000_000n,
  };
  mapUpdate(r, MAP_NAMES.config, encodeU32(0), encode("config", config));
  mapUpdate(
    r,
    MAP_NAMES.appPolicy,
    encodeU32(APP_ID),
    encode("appPolicy", { classId: 0, flags: APP_OFFLOAD_ALLOWED }),
  );
}

/** What the agent does once inspection has cleared a flow. */
function offloadFlow(r: Router, tuple: typeof UDP): void {
  const { key, srcIsA } = flowKeyOf(tuple);
  const zeroPair = [0n, 0n] as [bigint, bigint];
  const flow: Flow = {
    state: FlowState.OFFLOADED,
    flags: FLOW_F_SELECTED | (srcIsA ? FLOW_F_ORIG_A : 0),
    appId: APP_ID,
    classId: 0,
    mark: 0,
    segmentId: 0,
    sampleCount: 0,
    blockGen: 0,
    nhIfindex: [0, 0],
    nhMtu: [0, 0],
    nhSmac: ["00:00:00:00:00:00", "00:00:00:00:00:00"],
    nhDmac: ["00:00:00:00:00:00", "00:00:00:00:00:00"],
    dscp: 0,
    packets: zeroPair,
    bytes: zeroPair,
    firstSeenNs: 0n,
    lastSeenNs: 0n,
    offloadDeadlineNs: 0n,
    nhCheckedNs: zeroPair,
    appGen: 0,
    appKey: 0,
    appClassId: 0,
    appFlags: 0,
    qosGen: 0,
    qosKey: 0,
    qosSkbPriority: 0,
    qosDscp: 0,
    qosFound: 0,
  };
  mapUpdate(r, MAP_NAMES.flows, encode("flowKey", key), encode("flow", flow));
}

/** A fos1_stats counter summed over CPUs. */
function stat(r: Router, name: StatName): number {
  const out = execFileSync(
    "bpftool",
    [
      "-j",
      "map",
      "lookup",
      "pinned",
      join(r.pinRoot, MAP_NAMES.stats),
      "key",
      "hex",
      ...hex(encodeU32(STATS.indexOf(name))),
    ],
    { encoding: "utf8" },
  );
  const parsed = JSON.parse(out) as { values: { value: string[] | number }[] };
  return parsed.values.reduce((sum, v) => {
    const bytes = Array.isArray(v.value) ? Buffer.from(v.value.map((x) => parseInt(x, 16))) : undefined;
    return sum + (bytes ? Number(bytes.readBigUInt64LE(0)) : Number(v.value));
  }, 0);
}

function rxPackets(r: Router): number {
  return Number(r.lab.exec(r.dst, "cat", ["/sys/class/net/fpd0/statistics/rx_packets"]).trim());
}

/** Packets per second delivered to the sink while trafgen sends 64-byte frames of one UDP flow. */
async function udpPps(r: Router): Promise<number> {
  const conf = join(r.pinRoot, "..", `${PREFIX}-trafgen-${process.pid}.cfg`);
  writeFileSync(
    conf,
    `{ eth(da=${MAC.rtrLan}, sa=${MAC.src}, type=0x0800), ipv4(saddr=${UDP.src}, daddr=${UDP.dst}, ttl=64), ` +
      `udp(sport=${UDP.sport}, dport=${UDP.dport}), fill(0x00, 18) }\n`,
  );
  const gen = r.lab.spawn(
    r.src,
    "taskset",
    ["-c", CPU_SEND, "trafgen", "--dev", "fps0", "--conf", conf, "--cpus", "1", "-q"],
    { detached: true },
  );
  try {
    await sleep(1000);
    const t0 = process.hrtime.bigint();
    const n0 = rxPackets(r);
    await sleep(UDP_SECONDS * 1000);
    const n1 = rxPackets(r);
    const t1 = process.hrtime.bigint();
    return (n1 - n0) / (Number(t1 - t0) / 1e9);
  } finally {
    await stopGroup(gen.pid!);
    execFileSync("rm", ["-f", conf]);
  }
}

/**
 * Ends a process started in its own group and everything it forked. trafgen's
 * sending worker ignores a signal to its parent and would keep loading the
 * machine through every later measurement.
 */
async function stopGroup(pid: number): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // The group is gone already.
    }
  };
  signal("SIGINT");
  await sleep(300);
  signal("SIGKILL");
}

/** Bulk TCP Gbit/s from iperf3; offloadAfterMs > 0 offloads the data flow once it runs, as the agent would. */
async function tcpGbps(r: Router, tcp: typeof TCP, offloadAfterMs: number): Promise<number> {
  const server = r.lab.spawn(r.dst, "taskset", ["-c", CPU_RECEIVE, "iperf3", "-s", "-1", "-B", TCP.dst]);
  try {
    await sleep(500);
    const client = r.lab.spawn(
      r.src,
      "taskset",
      [
        "-c",
        CPU_SEND,
        "iperf3",
        "-c",
        tcp.dst,
        "--cport",
        String(tcp.sport),
        "-t",
        String(TCP_SECONDS),
        "-O",
        "1",
        "-J",
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let json = "";
    client.stdout!.on("data", (d: Buffer) => (json += d.toString()));
    const done = new Promise<void>((resolve) => client.on("exit", () => resolve()));
    if (offloadAfterMs > 0) {
      await sleep(offloadAfterMs);
      offloadFlow(r, tcp);
    }
    await done;
    const parsed = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = parsed.end?.sum_received?.bits_per_second;
    if (typeof bps !== "number") throw new Error(`iperf3 gave no result: ${json.slice(0, 500)}`);
    return bps / 1e9;
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
  }
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: readonly number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;

/** The modes a round measures, in an order that reverses every other round so drift in load cancels. */
type TcpMode = "none" | "inspect" | "offloaded";
type UdpMode = "slow" | "offloaded";
const ordered = <T>(modes: readonly T[], round: number): T[] =>
  round % 2 ? [...modes].reverse() : [...modes];

async function main(): Promise<void> {
  execFileSync("make", ["-s", "-C", join(BPF_BUILD, ".."), "all"], { stdio: "inherit" });
  const lab = new NetnsLab(PREFIX);
  const pinRoot = mkdtempSync(join(tmpdir(), `${PREFIX}-fwd-bpffs-`));
  execFileSync("mount", ["-t", "bpf", "bpf", pinRoot]);
  const tcp: Record<TcpMode, number[]> = { none: [], inspect: [], offloaded: [] };
  const udp: Record<UdpMode, number[]> = { slow: [], offloaded: [] };
  const lines: string[] = [];
  try {
    const r = build(lab, pinRoot);
    let attached = false;
    let run = 0;
    const setMode = (programs: boolean, offload: boolean) => {
      if (programs && !attached) attach(r);
      if (!programs && attached) detach(r);
      attached = programs;
      if (programs) configure(r, offload);
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ordered<UdpMode>(["slow", "offloaded"], round)) {
        setMode(true, mode === "offloaded");
        if (mode === "offloaded") offloadFlow(r, UDP);
        const fast0 = stat(r, "fastpath");
        udp[mode].push(await udpPps(r));
        const fast = stat(r, "fastpath") - fast0;
        // A measurement that did not take the path it names would be a wrong figure, not a slow one.
        if ((mode === "offloaded") !== fast > 0) throw new Error(`udp ${mode}: ${fast} fast-path packets`);
      }
      // Each TCP mode runs twice a round, in mirrored order (A B C C B A): one 3 s iperf3 run on the
      // 2 shared cores varies by +-20%, so each median is taken over twice as many runs as rounds.
      const tcpOrder = ordered<TcpMode>(["none", "inspect", "offloaded"], round);
      for (const mode of [...tcpOrder, ...[...tcpOrder].reverse()]) {
        setMode(mode !== "none", mode === "offloaded");
        const fast0 = attached ? stat(r, "fastpath") : 0;
        tcp[mode].push(
          await tcpGbps(r, { ...TCP, sport: TCP.sport + run++ }, mode === "offloaded" ? 300 : 0),
        );
        const fast = attached ? stat(r, "fastpath") - fast0 : 0;
        if ((mode === "offloaded") !== fast > 0) throw new Error(`tcp ${mode}: ${fast} fast-path packets`);
      }
      const lastTwo = (xs: number[]) =>
        xs
          .slice(-2)
          .map((x) => x.toFixed(2))
          .join("/");
      console.log(
        `round ${round + 1}: udp64 pps slow ${udp.slow[round]!.toFixed(0)} offloaded ${udp.offloaded[round]!.toFixed(0)}; ` +
          `tcp Gbit/s none ${lastTwo(tcp.none)} inspect ${lastTwo(tcp.inspect)} offloaded ${lastTwo(tcp.offloaded)}`,
      );
    }
    if (attached) detach(r);
    const spread = (name: string, value: number[], baseline: number[], unit: string, digits: number) => {
      const ratios = sorted(value.map((v, i) => v / baseline[i]!));
      console.log(
        `${name}: median ${median(value).toFixed(digits)} ${unit} (${sorted(value)[0]!.toFixed(digits)}..${sorted(value).at(-1)!.toFixed(digits)}) ` +
          `vs baseline ${median(baseline).toFixed(digits)} (${sorted(baseline)[0]!.toFixed(digits)}..${sorted(baseline).at(-1)!.toFixed(digits)}); ` +
          `per-round ratio median ${median(ratios).toFixed(3)}, spread ${ratios[0]!.toFixed(3)}..${ratios.at(-1)!.toFixed(3)}`,
      );
      lines.push(
        `BENCH ${name} value=${median(value).toFixed(digits)} unit=${unit} baseline=${median(baseline).toFixed(digits)} ` +
          `ratio=${(median(value) / median(baseline)).toFixed(3)}`,
      );
    };
    spread("fwd_udp64_offloaded_pps", udp.offloaded, udp.slow, "pps", 0);
    spread("fwd_tcp_gbps", tcp.offloaded, tcp.none, "Gbit/s", 2);
    spread("fwd_tcp_inspect_gbps", tcp.inspect, tcp.none, "Gbit/s", 2);
  } finally {
    lab.teardown();
    execFileSync("umount", [pinRoot]);
    rmdirSync(pinRoot);
  }
  console.log(lines.join("\n"));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
