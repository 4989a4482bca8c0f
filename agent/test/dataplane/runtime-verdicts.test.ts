import { join } from "node:path";
import { LocalEtcd } from "@fos1/dpi/agent/src/cluster";
import { eveAlert, eveWriter } from "./eve-records";
import { CLIENT, MapsLab, SERVER } from "./maps-lab";

const FIREWALL_YAML = `apiVersion: networking.fos1.io/v1
kind: FirewallPolicy
metadata: { name: rv-firewall }
spec:
  blocks: { riskThreshold: 80, scope: source, ttl: 3s }
`;

/** One echo request with a fixed identifier, so every call is the same ICMP flow in the flow table. */
async function pingOnce(lab: MapsLab, ident = 4242): Promise<boolean> {
  return lab
    .exec(lab.ns.client, "ping", ["-c", "1", "-W", "1", "-e", String(ident), SERVER])
    .then(() => true)
    .catch(() => false);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("EVE alerts become blocks in the kernel through the agent's ingest", () => {
  const lab = new MapsLab(`v${process.pid % 1000}`);
  const eveSocket = join(lab.dir, "eve.sock");

  beforeAll(async () => {
    await lab.setup({ ingest: { sources: [{ type: "eve-socket", path: eveSocket }] } });
    await lab.start();
    for (const program of lab.compile(FIREWALL_YAML)) await lab.client.putProgram(program);
  });
  afterAll(() => lab.teardown());

  it("a low-risk alert blocks nothing; a severity-1 alert drops the source's live flow within milliseconds; after the TTL the same flow passes again", async () => {
    expect(await pingOnce(lab)).toBe(true);
    const writer = await eveWriter(eveSocket);
    try {
      writer.write(eveAlert(3, CLIENT, SERVER));
      await until("the low alert ingested", 5000, async () => {
        const st = await lab.client.runtimeStatus();
        return st.ingest[0]!.lines.parsed >= 1 ? st : undefined;
      });
      expect((await lab.client.runtimeBlocks()).blocks).toEqual([]);
      expect(await pingOnce(lab)).toBe(true);

      const written = Date.now();
      writer.write(eveAlert(1, CLIENT, SERVER));
      const blocks = await until("the block in the maps", 5000, async () => {
        const b = (await lab.client.runtimeBlocks()).blocks;
        return b.length > 0 ? b : undefined;
      });
      const blockedAfterMs = Date.now() - written;
      expect(blocks).toEqual([
        { scope: "source", target: CLIENT, remainingMs: expect.any(Number), reason: 1 },
      ]);
      expect(blocks[0]!.remainingMs).toBeLessThanOrEqual(3000);
      // Polled through HTTPS: the write itself is far faster (see the alert_to_block bench).
      expect(blockedAfterMs).toBeLessThan(1000);
      expect(await pingOnce(lab)).toBe(false);
      const flows = (await lab.client.runtimeFlows()).flows.filter(
        (f) => f.srcIp === CLIENT && f.protocol === 1,
      );
      expect(flows.map((f) => f.state)).toContain("blocked");

      const passedAgain = await until("the flow passing again", 8000, async () =>
        (await pingOnce(lab)) ? Date.now() : undefined,
      );
      expect(passedAgain - written).toBeGreaterThanOrEqual(2500);
      expect((await lab.client.runtimeBlocks()).blocks).toEqual([]);
      const status = await lab.client.runtimeStatus();
      expect(status.decisions.block).toBe(1);
      expect(status.enforcing).toBe(true);

      const alerts = lab.output
        .split("\n")
        .filter((l) => l.includes('"type":"dpi-alert"'))
        .map((l) => JSON.parse(l) as { src_ip: string; verdicts: string[]; signature_id: number });
      // Below the threshold an alert keeps its flow on the slow path; above it, it blocks.
      expect(alerts.map((a) => a.verdicts)).toEqual([["inspect"], ["block"]]);
      expect(alerts[1]!.src_ip).toBe(CLIENT);
      expect(await lab.metric('fos1_dpi_verdicts_total{verdict="block"')).toBe(1);
    } finally {
      writer.destroy();
    }
  });
});

describe("two routers sharing one etcd", () => {
  const a = new MapsLab(`x${process.pid % 1000}`, "router-a");
  const b = new MapsLab(`y${process.pid % 1000}`, "router-b");
  const eveSocket = join(a.dir, "eve.sock");
  let etcd: LocalEtcd;

  beforeAll(async () => {
    // The agents run in namespaces with no network path to this one: etcd also serves a unix socket.
    etcd = await LocalEtcd.launch({ socketDir: a.dir });
    const cluster = { endpoints: [etcd.socketEndpoint], site: "rv-site" };
    await a.setup({ ingest: { sources: [{ type: "eve-socket", path: eveSocket }] }, cluster });
    await b.setup({ cluster });
    await Promise.all([a.start(), b.start()]);
    for (const lab of [a, b]) for (const p of lab.compile(FIREWALL_YAML)) await lab.client.putProgram(p);
    await until("both agents connected to etcd", 10_000, async () => {
      const st = await Promise.all([a.client.runtimeStatus(), b.client.runtimeStatus()]);
      return st.every((s) => s.cluster?.connected) ? st : undefined;
    });
  });
  afterAll(async () => {
    await Promise.all([a.teardown(), b.teardown()]);
    await etcd?.destroy();
  });

  it("a block learned from an alert on one router is enforced on the other, and lifted there when it expires", async () => {
    expect(await pingOnce(b)).toBe(true);
    const writer = await eveWriter(eveSocket);
    try {
      const written = Date.now();
      writer.write(eveAlert(1, CLIENT, SERVER));
      const remote = await until("the block on the other router", 5000, async () => {
        const blocks = (await b.client.runtimeBlocks()).blocks;
        return blocks.length > 0 ? blocks : undefined;
      }).catch((error: Error) => {
        throw new Error(
          `${error.message}\nrouter a:\n${a.output.slice(-3000)}\nrouter b:\n${b.output.slice(-3000)}`,
        );
      });
      const propagatedMs = Date.now() - written;
      expect(remote).toEqual([
        { scope: "source", target: CLIENT, remainingMs: expect.any(Number), reason: 3 },
      ]);
      expect(propagatedMs).toBeLessThan(2000);
      expect(await pingOnce(b)).toBe(false);
      expect(await pingOnce(a)).toBe(false);

      await until("the other router letting the flow through again", 8000, async () =>
        (await pingOnce(b)) ? true : undefined,
      );
      expect(Date.now() - written).toBeGreaterThanOrEqual(2500);
    } finally {
      writer.destroy();
    }
  });

  it("a router that loses etcd keeps enforcing what it learns, and shares it once etcd is back", async () => {
    for (const p of a.compile(FIREWALL_YAML.replace("ttl: 3s", "ttl: 60s"))) await a.client.putProgram(p);
    const source = "10.10.1.7";
    await etcd.stop();
    await until("router a noticing etcd is gone", 15_000, async () =>
      (await a.client.runtimeStatus()).cluster?.connected === false ? true : undefined,
    );
    const writer = await eveWriter(eveSocket);
    try {
      writer.write(eveAlert(1, source, SERVER));
      await until("the local block", 2000, async () =>
        (await a.client.runtimeBlocks()).blocks.some((x) => x.target === source) ? true : undefined,
      );
      expect((await a.client.runtimeStatus()).cluster?.queued).toBeGreaterThan(0);
      expect((await b.client.runtimeBlocks()).blocks.some((x) => x.target === source)).toBe(false);

      await etcd.start();
      await until("the block reaching the other router after etcd is back", 20_000, async () =>
        (await b.client.runtimeBlocks()).blocks.some((x) => x.target === source) ? true : undefined,
      );
      expect((await a.client.runtimeStatus()).cluster).toMatchObject({ connected: true, queued: 0 });
    } finally {
      writer.destroy();
    }
  });
});
