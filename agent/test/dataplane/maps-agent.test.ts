import {
  CFG_OFFLOAD_ENABLED,
  decode,
  encode,
  encodeU32,
  flowKeyOf,
  lpmPrefix,
  MAP_NAMES,
  PROGRAMS,
} from "@fos1/dpi/sdk/abi";
import { resolveApplications } from "@fos1/dpi/sdk/apps";
import type { NodeProgram } from "@fos1/dpi/sdk/compile";
import { nativeBpf } from "@fos1/dpi/agent/src/bpf/native";
import { RuntimeMaps } from "@fos1/dpi/agent/src/bpf/runtime-maps";
import { CLIENT, FAST_PATH_POLICY_YAML, MapsLab, SERVER } from "./maps-lab";
import { qosPolicyYaml, ROUTING_POLICY_YAML } from "./site";

jest.setTimeout(120_000);

const UDP = 17;
const TCP = 6;
const appId = (name: string) => resolveApplications(name)![0]!.id;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Rec = Record<string, number | string>;

/** The policy maps as the programs ask for them, encoded with sdk/abi: map -> "keyhex=valuehex". */
function expectedMaps(programs: readonly NodeProgram[]): Map<string, Set<string>> {
  const merged = new Map<string, Map<string, { key: Rec; value: Rec }>>();
  for (const p of programs) {
    for (const [map, entries] of Object.entries(p.spec.maps)) {
      const m = merged.get(map) ?? new Map<string, { key: Rec; value: Rec }>();
      for (const e of entries) {
        const id = JSON.stringify(e.key);
        m.set(id, { key: e.key, value: { ...m.get(id)?.value, ...e.value } });
      }
      merged.set(map, m);
    }
  }
  const bytes = (map: string, key: Rec, v: Rec): [Buffer, Buffer] => {
    const n = (x: unknown) => (x as number | undefined) ?? 0;
    switch (map) {
      case MAP_NAMES.qosClasses:
        return [
          encodeU32(n(key.class_id)),
          encode("qosClass", { skbPriority: n(v.skb_priority), dscp: n(v.dscp) }),
        ];
      case MAP_NAMES.appPolicy:
        return [encodeU32(n(key.app_id)), encode("appPolicy", { classId: n(v.class_id), flags: n(v.flags) })];
      case MAP_NAMES.routePolicy:
        return [
          encode("routeKey", { segmentId: n(key.segment_id), appId: n(key.app_id) }),
          encode("routeTarget", { mark: n(v.mark) }),
        ];
      default:
        return [encode("lpmKey", lpmPrefix(key.prefix as string)), encodeU32(n(v.id))];
    }
  };
  return new Map(
    [...merged].map(([map, m]) => [
      map,
      new Set(
        [...m.values()].map(({ key, value }) =>
          bytes(map, key, value)
            .map((b) => b.toString("hex"))
            .join("="),
        ),
      ),
    ]),
  );
}

async function kernelMaps(lab: MapsLab, maps: Iterable<string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const map of maps) {
    const entries = await lab.bpftoolDump(map);
    out.set(map, new Set(entries.map((e) => `${e.key.toString("hex")}=${e.value.toString("hex")}`)));
  }
  return out;
}

const POLICY_MAPS = [
  MAP_NAMES.qosClasses,
  MAP_NAMES.appPolicy,
  MAP_NAMES.routePolicy,
  MAP_NAMES.segments,
  MAP_NAMES.critical,
  MAP_NAMES.watch,
];

async function config(lab: MapsLab) {
  return decode("config", (await lab.bpftoolDump(MAP_NAMES.config))[0]!.value);
}

describe("the agent's eBPF maps in a router namespace", () => {
  const lab = new MapsLab(`${process.pid % 1000}`);
  let qos: NodeProgram;
  let routing: NodeProgram;
  let fastPath: NodeProgram;

  beforeAll(async () => {
    await lab.setup();
    [qos, routing, fastPath] = lab.compile(
      [qosPolicyYaml("default-qos-policy"), ROUTING_POLICY_YAML, FAST_PATH_POLICY_YAML].join("---\n"),
    ) as [NodeProgram, NodeProgram, NodeProgram];
    await lab.start();
  });
  afterAll(() => lab.teardown());

  it("PUT of the DESIGN.md programs: maps read back with bpftool equal the programs; again: 0 writes; DELETE: only its entries go", async () => {
    const client = lab.client;
    const writes = [];
    for (const p of [qos, routing, fastPath]) writes.push((await client.putProgram(p)).writes.maps);
    expect(writes.every((w) => w > 0)).toBe(true);
    expect(await kernelMaps(lab, POLICY_MAPS)).toEqual(
      new Map(POLICY_MAPS.map((m) => [m, expectedMaps([qos, routing, fastPath]).get(m) ?? new Set()])),
    );
    const c = await config(lab);
    expect(c).toMatchObject({ flags: CFG_OFFLOAD_ENABLED, sampleOneIn: 64, fwmarkMask: 0xf0 });
    expect(c.reinspectAfterNs).toBe(300_000_000_000n);
    // The agent's default next-hop cache: what the fast-path benchmarks measure is what nodes run.
    expect(c.nexthopTtlNs).toBe(1_000_000_000n);
    expect(c.offloadLeaseUntilNs).toBeGreaterThan(0n);

    for (const p of [qos, routing, fastPath]) {
      expect((await client.putProgram(p)).writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
      expect((await client.getProgram(p.metadata.name))!.drift).toEqual([]);
    }

    const removed = await client.deleteProgram(fastPath.metadata.name);
    expect(removed!.writes.maps).toBeGreaterThan(0);
    expect(await kernelMaps(lab, POLICY_MAPS)).toEqual(
      new Map(POLICY_MAPS.map((m) => [m, expectedMaps([qos, routing]).get(m) ?? new Set()])),
    );
    expect((await config(lab)).flags & CFG_OFFLOAD_ENABLED).toBe(0);
    await client.putProgram(fastPath);
  });

  it("an entry changed out of band is repaired by the reconcile loop and counted", async () => {
    const repairs = 'fos1_agent_drift_repairs_total{subsystem="maps"}';
    const before = await lab.metric(repairs);
    const zoom = [...encodeU32(appId("zoom"))].map((b) => `0x${b.toString(16)}`);
    await lab.exec(lab.ns.router, "bpftool", [
      ...["map", "update", "pinned", `${lab.pinRoot}/${MAP_NAMES.appPolicy}`, "key", ...zoom],
      ...["value", "0x10", "0", "0", "0", "0", "0", "0", "0"],
    ]);
    const started = Date.now();
    while ((await lab.metric(repairs)) === before) {
      expect(Date.now() - started).toBeLessThan(5000);
      await sleep(100);
    }
    expect(await kernelMaps(lab, [MAP_NAMES.appPolicy])).toEqual(
      new Map([[MAP_NAMES.appPolicy, expectedMaps([qos, routing, fastPath]).get(MAP_NAMES.appPolicy)]]),
    );
  });

  it("kill -9 and restart: programs stay attached and are adopted, not reloaded; a UDP flow stays classified (DSCP EF) throughout", async () => {
    for (const p of [qos, routing, fastPath]) await lab.client.putProgram(p);
    // A steady UDP flow, one 200-byte datagram every 5 ms from a fixed port (no receiver needed).
    lab.background(lab.ns.client, process.execPath, [
      "-e",
      `const s = require("dgram").createSocket("udp4");
       s.bind(40001, () => setInterval(() => s.send(Buffer.alloc(200), 5301, "${SERVER}"), 5));`,
    ]);
    const runtime = RuntimeMaps.open(nativeBpf(), lab.pinRoot);
    const flow = flowKeyOf({ src: CLIENT, dst: SERVER, sport: 40001, dport: 5301, proto: UDP }).key;
    for (let i = 0; runtime.classifyFlows([{ key: flow, appId: appId("zoom") }]).count === 0; i++) {
      expect(i).toBeLessThan(50);
      await sleep(100);
    }
    const capture = await lab.capture(lab.ns.isp1, lab.dev.up1, "udp and dst port 5301");
    const classified = () => runtime.counters().classified;
    const ids = async () => ({
      lan: await lab.attachedId(lab.dev.lan, "ingress"),
      up: await lab.attachedId(lab.dev.wan1, "ingress"),
      egress: await lab.attachedId(lab.dev.wan1, "egress"),
    });
    const before = await ids();
    expect(Object.values(before).every((id) => id !== undefined)).toBe(true);
    const c0 = classified();
    await sleep(500);
    const leaseAlive = (await config(lab)).offloadLeaseUntilNs;

    await lab.kill9();
    const c1 = classified();
    await sleep(1500);
    const c2 = classified();
    expect(c1).toBeGreaterThan(c0);
    expect(c2).toBeGreaterThan(c1);
    // Nobody renews the lease of a dead agent.
    expect((await config(lab)).offloadLeaseUntilNs).toBe(leaseAlive);

    const logged = lab.output.length;
    await lab.start();
    expect(await ids()).toEqual(before);
    const startLog = lab.output.slice(logged);
    const ready = JSON.parse(startLog.split("\n").find((l) => l.includes("eBPF data plane ready"))!) as {
      programs: { adopted: boolean }[];
      attached: string[];
    };
    expect(ready.programs.map((p) => p.adopted)).toEqual(Object.keys(PROGRAMS).map(() => true));
    expect(ready.attached).toEqual([]);
    expect(startLog).toMatch(/stored programs re-applied.*"maps":0/);
    await sleep(1500);
    expect(classified()).toBeGreaterThan(c2);
    expect((await config(lab)).offloadLeaseUntilNs).toBeGreaterThan(leaseAlive);
    const lines = await capture.stop();
    runtime.close();
    expect(lines.length).toBeGreaterThan(50);
    // EF is DSCP 46: TOS 0xb8 (ECN bits kept, none set by iperf3's UDP).
    expect(lines.filter((l) => /tos 0xb8/.test(l)).length).toBeGreaterThan(lines.length / 4);
  });

  it("a flow the agent marks as bulk gets CS1 on the wire and the bulk class's 20% cap", async () => {
    await lab.serve(lab.ns.isp1, "iperf3", ["-s", "-p", "5302", "--forceflush"], /Server listening/);
    const capture = await lab.capture(lab.ns.isp1, lab.dev.up1, "tcp and dst port 5302 and greater 1000");
    const report = lab.exec(lab.ns.client, "iperf3", [
      "-c",
      SERVER,
      "-p",
      "5302",
      "-t",
      "8",
      "--cport",
      "40002",
      "-J",
    ]);
    const runtime = RuntimeMaps.open(nativeBpf(), lab.pinRoot);
    const flow = flowKeyOf({ src: CLIENT, dst: SERVER, sport: 40002, dport: 5302, proto: TCP }).key;
    await sleep(2000);
    expect(runtime.classifyFlows([{ key: flow, appId: appId("bittorrent") }]).count).toBe(1);
    runtime.close();
    const intervals = (
      JSON.parse(await report) as { intervals: { sum: { start: number; bits_per_second: number } }[] }
    ).intervals.map((i) => i.sum);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const unmarked = mean(
      intervals.filter((i) => i.start >= 0.5 && i.start < 2).map((i) => i.bits_per_second),
    );
    const bulk = mean(intervals.filter((i) => i.start >= 4).map((i) => i.bits_per_second));
    expect(unmarked).toBeGreaterThan(40e6);
    expect(bulk).toBeLessThan(20e6 * 1.25);
    expect(bulk).toBeGreaterThan(20e6 * 0.5);
    const lines = await capture.stop();
    // CS1 is DSCP 8: TOS 0x20, plus whatever ECN bits the sender set.
    expect(lines.filter((l) => /tos 0x2[0-3]/.test(l)).length).toBeGreaterThan(100);
    expect(lines.filter((l) => /tos 0x0\b/.test(l)).length).toBeGreaterThan(100);
  });
});
