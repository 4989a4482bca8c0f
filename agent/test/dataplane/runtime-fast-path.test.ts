import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { RuntimeFlow } from "@fos1/dpi/sdk/agent-api";
import { eveAnomaly, eveFlow, eveWriter, type EveFlowRef } from "./eve-records";
import { CLIENT, MapsLab, SERVER } from "./maps-lab";
import { qosPolicyYaml } from "./site";

/**
 * The fast path driven by inspection through the agent: Suricata-style EVE
 * records into the agent's socket, a live UDP flow through the router, and
 * the mirror counted on the sensor side of the mirror pair.
 */
const CRITICAL_CLIENT = "10.10.50.2";
const RATE_PPS = 400;
const SAMPLE_ONE_IN = 16;
const LOAD_SAMPLE_ONE_IN = 8;

const POLICIES = `apiVersion: networking.fos1.io/v1
kind: FastPathPolicy
metadata: { name: rf-fast-path }
spec:
  offload:
    - { name: transfers, applications: [ftp], minInspectedPackets: 8 }
  criticalZones:
    - { name: payments, prefixes: [10.10.50.0/24] }
  sampling: { oneIn: ${SAMPLE_ONE_IN} }
  reinspectAfter: 5m
  underLoad: { thresholdPps: ${RATE_PPS * 1.5}, sampleOneIn: ${LOAD_SAMPLE_ONE_IN} }
---
apiVersion: networking.fos1.io/v1
kind: DpiSensor
metadata: { name: rf-sensor }
spec:
  engines: [suricata]
  ruleSources:
    - name: et-open
      url: https://rules.emergingthreats.net/open/suricata-7.0.3/emerging.rules.tar.gz
      sha256: 3f4c1b3d5e2a9f8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b
  mirrorInterface: ammir0
  expectedThroughput: 1Gbit
`;

/** A UDP flow of RATE_PPS packets/s from `src`:`sport` to the server, until killed. */
function udpFlow(lab: MapsLab, src: string, sport: number): ChildProcess {
  const script = `const s=require("dgram").createSocket("udp4");s.bind(${sport},"${src}",()=>setInterval(()=>s.send(Buffer.alloc(64),5001,"${SERVER}"),${1000 / RATE_PPS}));`;
  return lab.background(lab.ns.client, process.execPath, ["-e", script]);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe("the fast path, driven by inspection through the agent", () => {
  const lab = new MapsLab(`f${process.pid % 1000}`);
  const eveSocket = join(lab.dir, "eve.sock");

  async function flowOf(src: string, sport: number): Promise<RuntimeFlow | undefined> {
    return (await lab.client.runtimeFlows()).flows.find((f) => f.srcIp === src && f.srcPort === sport);
  }

  /**
   * Over `ms`: packets of one flow that reached the sensor side of the
   * mirror, and packets the router counted for it. The capture runs a little
   * longer than the count, so a fully mirrored flow shows at least what was
   * counted, whatever rate a loaded machine let the sender reach.
   */
  async function mirrored(
    src: string,
    sport: number,
    ms = 1000,
  ): Promise<{ captured: number; seen: number }> {
    const capture = await lab.capture(lab.ns.router, lab.dev.sensor, `udp and src port ${sport}`);
    const before = (await flowOf(src, sport))?.packets.orig ?? 0;
    await sleep(ms);
    const seen = ((await flowOf(src, sport))?.packets.orig ?? 0) - before;
    const captured = (await capture.stop()).filter((l) => l.includes(`.${sport} >`)).length;
    // The sender ran: a quarter of its rate at least, even on a loaded machine.
    expect(seen).toBeGreaterThan((RATE_PPS * ms) / 4000);
    return { captured, seen };
  }

  const fullyMirrored = (m: { captured: number; seen: number }) =>
    expect(m.captured).toBeGreaterThanOrEqual(Math.floor(m.seen * 0.95));
  const sampled = (m: { captured: number; seen: number }) => {
    expect(m.captured).toBeGreaterThan(0);
    expect(m.captured).toBeLessThan(m.seen / 4);
  };

  async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
    for (const started = Date.now(); !(await probe()); await sleep(20)) {
      if (Date.now() - started > 5000) throw new Error(`${what}: not within 5 s\n${lab.output.slice(-2000)}`);
    }
  }

  beforeAll(async () => {
    await lab.setup({ ingest: { sources: [{ type: "eve-socket", path: eveSocket }] } }, { mirror: true });
    await lab.exec(lab.ns.client, "ip", ["addr", "add", `${CRITICAL_CLIENT}/24`, "dev", lab.dev.client]);
    await lab.exec(lab.ns.router, "ip", ["route", "add", "10.10.50.0/24", "dev", lab.dev.lan]);
    await lab.start();
    // The DESIGN.md classes too: a classified flow is named (and classed) whether or not it may be offloaded.
    for (const p of lab.compile(`${POLICIES}---\n${qosPolicyYaml("rf-qos")}`)) await lab.client.putProgram(p);
  });
  afterAll(() => lab.teardown());

  it("a cleared, opted-in flow leaves the mirror but for its 1-in-N samples; an anomaly brings it back for good", async () => {
    const flow: EveFlowRef = { src: CLIENT, sport: 41000, dst: SERVER, dport: 5001, proto: "UDP" };
    udpFlow(lab, CLIENT, flow.sport);
    await until("the flow in the table", async () => (await flowOf(CLIENT, flow.sport)) !== undefined);
    fullyMirrored(await mirrored(CLIENT, flow.sport));

    const writer = await eveWriter(eveSocket);
    try {
      writer.write(eveFlow("ftp", flow));
      await until(
        "the flow offloaded",
        async () => (await flowOf(CLIENT, flow.sport))?.state === "offloaded",
      );
      expect(await flowOf(CLIENT, flow.sport)).toMatchObject({ app: "ftp", anomaly: false });
      sampled(await mirrored(CLIENT, flow.sport));
      const status = await lab.client.runtimeStatus();
      expect(status.counters.sampled).toBeGreaterThan(0);
      expect(status.counters.fastpath).toBeGreaterThan(0);

      writer.write(eveAnomaly(flow));
      await until("the flow back on the slow path", async () => {
        const f = await flowOf(CLIENT, flow.sport);
        return f?.state === "inspect" && f.anomaly;
      });
      fullyMirrored(await mirrored(CLIENT, flow.sport));

      // Cleared again: an anomaly is for good, the flow stays on the slow path.
      writer.write(eveFlow("ftp", flow));
      await until("the second clearance refused", async () => {
        const st = await lab.client.runtimeStatus();
        return st.decisions["offload-refused"] === 1;
      });
      expect((await flowOf(CLIENT, flow.sport))?.state).toBe("inspect");
    } finally {
      writer.destroy();
    }
  });

  it("a flow from a critical zone never leaves INSPECT, whatever inspection says", async () => {
    const flow: EveFlowRef = { src: CRITICAL_CLIENT, sport: 41001, dst: SERVER, dport: 5001, proto: "UDP" };
    udpFlow(lab, CRITICAL_CLIENT, flow.sport);
    await until(
      "the critical flow in the table",
      async () => (await flowOf(CRITICAL_CLIENT, flow.sport)) !== undefined,
    );
    const writer = await eveWriter(eveSocket);
    try {
      writer.write(eveFlow("ftp", flow));
      await until(
        "the flow classified",
        async () => (await flowOf(CRITICAL_CLIENT, flow.sport))?.app === "ftp",
      );
      await sleep(500);
      expect(await flowOf(CRITICAL_CLIENT, flow.sport)).toMatchObject({ state: "inspect", critical: true });
      fullyMirrored(await mirrored(CRITICAL_CLIENT, flow.sport));
    } finally {
      writer.destroy();
    }
  });

  it("under load (the flows of the tests before this one keep running) a new non-critical flow is sampled after its first packets; critical ones stay fully mirrored", async () => {
    // Running now: the anomalous flow of the first test and the critical one, 400 packets/s each.
    const flow: EveFlowRef = { src: CLIENT, sport: 41002, dst: SERVER, dport: 5001, proto: "UDP" };
    udpFlow(lab, CLIENT, flow.sport);
    await until("sampling switched on", async () => lab.output.includes("sensors under load"));
    // Every flow's first 32 packets are mirrored whatever the load: measure past them.
    await until("the flow past its first packets", async () => {
      return ((await flowOf(CLIENT, flow.sport))?.packets.orig ?? 0) > 40;
    });
    sampled(await mirrored(CLIENT, flow.sport));
    fullyMirrored(await mirrored(CRITICAL_CLIENT, 41001));
    const status = await lab.client.runtimeStatus();
    expect(status.counters.load_shed).toBeGreaterThan(0);
    expect((await flowOf(CLIENT, flow.sport))?.state).toBe("inspect");
  });

  it("a record that arrives before its flow's first packet waits for the flow (a sensor can be faster than the table write)", async () => {
    const flow: EveFlowRef = { src: CLIENT, sport: 41004, dst: SERVER, dport: 5001, proto: "UDP" };
    const writer = await eveWriter(eveSocket);
    try {
      writer.write(eveFlow("ftp", flow));
      await sleep(300);
      expect(await flowOf(CLIENT, flow.sport)).toBeUndefined();
      udpFlow(lab, CLIENT, flow.sport);
      await until(
        "the waiting classification applied",
        async () => (await flowOf(CLIENT, flow.sport))?.app === "ftp",
      );
    } finally {
      writer.destroy();
    }
  });

  it("relaxes conntrack's TCP window checks in the router while a fast-path policy is on, and restores them without one", async () => {
    const liberal = async () =>
      (await lab.exec(lab.ns.router, "cat", ["/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal"])).trim();
    await until("the sysctl set", async () => (await liberal()) === "1");
    const fastPath = lab.compile(POLICIES).find((p) => p.metadata.name.startsWith("fastpath-"))!;
    await lab.client.deleteProgram(fastPath.metadata.name);
    await until("the sysctl restored", async () => (await liberal()) === "0");
    await lab.client.putProgram(fastPath);
    await until("the sysctl set again", async () => (await liberal()) === "1");
  });
});
