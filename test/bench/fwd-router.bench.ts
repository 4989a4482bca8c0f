// Forwarding through a router namespace with the fos1 programs attached:
// 64-byte UDP from trafgen on the slow path (mirror clone + nftables) versus the
// same flow offloaded, and bulk TCP (iperf3) per attach mode versus no
// programs. Needs root; namespaces and interfaces carry the "fb" prefix and are
// removed at the end, also after a failure. Prints its BENCH lines last.
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
const ROUNDS = 3;
const UDP_SECONDS = 3;
const TCP_SECONDS = 4;
const APP_ID = 4242;
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
  lab.veth({ ns: src, name: "fbs0", mac: MAC.src }, { ns: rtr, name: "fbr0", mac: MAC.rtrLan });
  lab.veth({ ns: rtr, name: "fbr1", mac: MAC.rtrWan }, { ns: dst, name: "fbd0", mac: MAC.dst });
  lab.veth({ ns: rtr, name: "fbm0" }, { ns: rtr, name: "fbm1" });
  lab.exec(src, "ip", ["addr", "add", "10.10.1.2/24", "dev", "fbs0"]);
  lab.exec(src, "ip", ["route", "add", "default", "via", "10.10.1.1"]);
  lab.exec(src, "ip", [
    "neigh",
    "replace",
    "10.10.1.1",
    "lladdr",
    MAC.rtrLan,
    "dev",
    "fbs0",
    "nud",
    "permanent",
  ]);
  lab.exec(rtr, "ip", ["addr", "add", "10.10.1.1/24", "dev", "fbr0"]);
  lab.exec(rtr, "ip", ["addr", "add", "10.10.2.1/24", "dev", "fbr1"]);
  lab.exec(rtr, "ip", [
    "neigh",
    "replace",
    "10.10.2.2",
    "lladdr",
    MAC.dst,
    "dev",
    "fbr1",
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
    "fbr0",
    "nud",
    "permanent",
  ]);
  lab.exec(rtr, "sysctl", ["-qw", "net.ipv4.conf.all.forwarding=1"]);
  lab.exec(dst, "ip", ["addr", "add", "10.10.2.2/24", "dev", "fbd0"]);
  lab.exec(dst, "ip", ["route", "add", "default", "via", "10.10.2.1"]);
  // The router's slow path: a stateful forward chain, as a firewall has.
  lab.exec(
    rtr,
    "nft",
    ["-f", "-"],
    [
      "table inet fbfilter {",
      "  chain forward {",
      "    type filter hook forward priority 0; policy drop;",
      "    ct state established,related accept",
      '    iifname "fbr0" oifname "fbr1" ip daddr 10.10.2.0/24 udp dport 9 accept',
      '    iifname "fbr0" oifname "fbr1" ip daddr 10.10.2.0/24 tcp dport 5201 accept',
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
      "table inet fbsink {",
      "  chain in {",
      "    type filter hook input priority 0;",
      "    udp dport 9 drop",
      "  }",
      "}",
    ].join("\n"),
  );
  const mirrorIfindex = Number(lab.exec(rtr, "cat", ["/sys/class/net/fbm0/ifindex"]).trim());
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
  for (const dev of ["fbr0", "fbr1"]) r.lab.exec(r.rtr, "tc", ["qdisc", "add", "dev", dev, "clsact"]);
  r.lab.exec(r.rtr, "tc", [
    "filter",
    "add",
    "dev",
    "fbr0",
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
    "fbr1",
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
    "fbr1",
    "egress",
    "bpf",
    "da",
    "pinned",
    prog(PROGRAMS.egressClassify),
  ]);
}

function detach(r: Router): void {
  for (const dev of ["fbr0", "fbr1"]) r.lab.exec(r.rtr, "tc", ["qdisc", "del", "dev", dev, "clsact"]);
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
  return Number(r.lab.exec(r.dst, "cat", ["/sys/class/net/fbd0/statistics/rx_packets"]).trim());
}

/** Packets per second delivered to the sink while trafgen sends 64-byte frames of one UDP flow. */
async function udpPps(r: Router): Promise<number> {
  const conf = join(r.pinRoot, "..", `fb-trafgen-${process.pid}.cfg`);
  writeFileSync(
    conf,
    `{ eth(da=${MAC.rtrLan}, sa=${MAC.src}, type=0x0800), ipv4(saddr=${UDP.src}, daddr=${UDP.dst}, ttl=64), ` +
      `udp(sport=${UDP.sport}, dport=${UDP.dport}), fill(0x00, 18) }\n`,
  );
  const gen = r.lab.spawn(r.src, "trafgen", ["--dev", "fbs0", "--conf", conf, "--cpus", "1", "-q"]);
  try {
    await sleep(1000);
    const t0 = process.hrtime.bigint();
    const n0 = rxPackets(r);
    await sleep(UDP_SECONDS * 1000);
    const n1 = rxPackets(r);
    const t1 = process.hrtime.bigint();
    return (n1 - n0) / (Number(t1 - t0) / 1e9);
  } finally {
    gen.kill("SIGINT");
    await sleep(300);
    execFileSync("rm", ["-f", conf]);
  }
}

/** Bulk TCP Gbit/s from iperf3; offloadAfterMs > 0 offloads the data flow once it runs, as the agent would. */
async function tcpGbps(r: Router, tcp: typeof TCP, offloadAfterMs: number): Promise<number> {
  const server = r.lab.spawn(r.dst, "iperf3", ["-s", "-1", "-B", TCP.dst]);
  try {
    await sleep(500);
    const client = r.lab.spawn(
      r.src,
      "iperf3",
      ["-c", tcp.dst, "--cport", String(tcp.sport), "-t", String(TCP_SECONDS), "-O", "1", "-J"],
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  execFileSync("make", ["-s", "-C", join(BPF_BUILD, ".."), "all"], { stdio: "inherit" });
  const lab = new NetnsLab("fb");
  const pinRoot = mkdtempSync(join(tmpdir(), "fb-fwd-bpffs-"));
  execFileSync("mount", ["-t", "bpf", "bpf", pinRoot]);
  const lines: string[] = [];
  const m = {
    tcpNone: [] as number[],
    tcpInspect: [] as number[],
    tcpOffloaded: [] as number[],
    udpSlow: [] as number[],
    udpOffloaded: [] as number[],
  };
  try {
    const r = build(lab, pinRoot);
    // Modes alternate within each round so that every mode sees the same machine load.
    for (let round = 0; round < ROUNDS; round++) {
      const tcp = { ...TCP, sport: TCP.sport + round };
      m.tcpNone.push(await tcpGbps(r, tcp, 0));
      attach(r);
      configure(r, false);
      m.udpSlow.push(await udpPps(r));
      m.tcpInspect.push(await tcpGbps(r, tcp, 0));
      configure(r, true);
      offloadFlow(r, UDP);
      const fast0 = stat(r, "fastpath");
      m.udpOffloaded.push(await udpPps(r));
      const fast1 = stat(r, "fastpath");
      m.tcpOffloaded.push(await tcpGbps(r, tcp, 300));
      const fast2 = stat(r, "fastpath");
      detach(r);
      console.log(
        `round ${round + 1}: udp64 pps slow ${m.udpSlow[round]!.toFixed(0)} offloaded ${m.udpOffloaded[round]!.toFixed(0)} ` +
          `(fast-path packets ${fast1 - fast0}); tcp Gbit/s none ${m.tcpNone[round]!.toFixed(2)} ` +
          `inspect ${m.tcpInspect[round]!.toFixed(2)} offloaded ${m.tcpOffloaded[round]!.toFixed(2)} (fast-path packets ${fast2 - fast1})`,
      );
    }
    const line = (name: string, value: number, unit: string, baseline: number, digits: number) =>
      `BENCH ${name} value=${value.toFixed(digits)} unit=${unit} baseline=${baseline.toFixed(digits)} ratio=${(value / baseline).toFixed(3)}`;
    lines.push(line("fwd_udp64_offloaded_pps", median(m.udpOffloaded), "pps", median(m.udpSlow), 0));
    lines.push(line("fwd_tcp_gbps", median(m.tcpOffloaded), "Gbit/s", median(m.tcpNone), 2));
    lines.push(line("fwd_tcp_inspect_gbps", median(m.tcpInspect), "Gbit/s", median(m.tcpNone), 2));
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
