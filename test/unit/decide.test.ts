import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSite, isPolicyDocument, type NodeProgram } from "@fos1/dpi/sdk/compile";
import {
  AppDestinationCache,
  decide,
  nodePolicyFrom,
  routeAtFirstPacket,
  type Decision,
} from "@fos1/dpi/sdk/decide";
import { dpiEventSchema, type DpiEvent } from "@fos1/dpi/sdk/events";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";

const root = join(__dirname, "..", "..");
const load = (f: string) =>
  loadYamlDocuments(readFileSync(join(root, "examples", f), "utf8"), f).documents.map((d) => d.document);
const site = load("sites/branch.yaml")[0] as Site;
const programs: NodeProgram[] = compileSite(
  [...load("policies/design.yaml"), ...load("policies/fast-path.yaml")].filter(isPolicyDocument),
  site,
).programs.filter((p) => p.metadata.node === "router-1");
const policy = nodePolicyFrom(programs);

/** A minimal valid event; tests override what they are about. */
function event(overrides: Partial<Omit<DpiEvent, "flow">> & { flow?: Partial<DpiEvent["flow"]> }): DpiEvent {
  const { flow, ...rest } = overrides;
  return dpiEventSchema.parse({
    engine: "ndpi",
    kind: "classification",
    sourceType: "classified",
    timestamp: { epochMs: 1_000, raw: "1.0" },
    flow: {
      srcIp: "10.10.1.5",
      dstIp: "198.51.100.20",
      srcPort: 50000,
      dstPort: 443,
      protocol: "tcp",
      ipVersion: 4,
      ...flow,
    },
    risk: 0,
    severity: "info",
    actionHint: "classify",
    extra: {},
    ...rest,
  });
}
const netflix = { catalog: "netflix", engineName: "TLS.NetFlix", confidence: "DPI" };
const kinds = (ds: Decision[]) => ds.map((d) => d.kind);

describe("runtime decisions", () => {
  it("a classified flow gets its class and DSCP, teaches its destination, and may be offloaded", () => {
    const ds = decide(
      event({ application: { catalog: "zoom", engineName: "Zoom", confidence: "DPI" } }),
      policy,
    );
    expect(kinds(ds)).toEqual(["classify", "learn-destination"]);
    expect(ds[0]).toMatchObject({ app: "zoom", class: { name: "voip", dscp: 46, skbPriority: 0x10011 } });
    const video = decide(event({ application: netflix }), policy);
    expect(kinds(video)).toEqual(["classify", "learn-destination", "offload"]);
    expect(video[2]).toMatchObject({ notBeforePackets: 20, sampleOneIn: 64, reinspectAfterMs: 300_000 });
  });

  it("a risk at the threshold blocks the source for the policy's TTL, before anything else", () => {
    const ds = decide(
      event({
        kind: "alert",
        risk: 70,
        signature: { id: 2010935, text: "ET SCAN Suspicious inbound" },
        application: netflix,
      }),
      policy,
    );
    expect(ds).toEqual([
      {
        kind: "block",
        target: { scope: "source", address: "10.10.1.5" },
        ttlMs: 900_000,
        reason: "ndpi risk 70: ET SCAN Suspicious inbound",
        cause: "risk",
      },
    ]);
    expect(kinds(decide(event({ kind: "alert", risk: 69, actionHint: "inspect" }), policy))).toEqual([
      "inspect",
    ]);
  });

  it("application control denies bittorrent in the guest segment only", () => {
    const torrent = { catalog: "bittorrent", engineName: "BitTorrent", confidence: "DPI" };
    const guest = decide(event({ application: torrent, flow: { srcIp: "10.10.200.9" } }), policy);
    expect(guest.at(-1)).toMatchObject({
      kind: "block",
      target: { scope: "flow" },
      reason: "application control no-p2p-for-guests: bittorrent",
      cause: "application-control",
    });
    expect(kinds(decide(event({ application: torrent }), policy))).not.toContain("block");
  });

  it("never offloads a critical zone, a watch-listed peer or domain, or a guessed classification", () => {
    expect(
      kinds(decide(event({ application: netflix, flow: { srcIp: "10.10.50.4" } }), policy)),
    ).not.toContain("offload");
    expect(
      kinds(decide(event({ application: netflix, flow: { dstIp: "192.0.2.66" } }), policy)),
    ).not.toContain("offload");
    const watched = decide(event({ application: netflix, serverName: "cdn.evil.example.com" }), policy);
    expect(watched[0]).toEqual({
      kind: "inspect",
      flow: expect.anything(),
      reason: "watch-listed domain cdn.evil.example.com",
      pin: true,
    });
    expect(kinds(watched)).not.toContain("offload");
    expect(
      kinds(decide(event({ application: { ...netflix, confidence: "Match by port" } }), policy)),
    ).toEqual(["classify"]);
  });

  it("sensitive applications stay on the slow path even when an offload rule would allow them", () => {
    expect(
      kinds(decide(event({ application: { catalog: "ssh", engineName: "SSH", confidence: "DPI" } }), policy)),
    ).not.toContain("offload");
  });

  it("learns destinations from DNS answers with their TTL, and never from carriers", () => {
    const dns = event({
      kind: "dns",
      application: undefined,
      dns: {
        query: "www.netflix.com",
        answers: [
          { data: "198.51.100.7", rrtype: "A", ttl: 120 },
          { data: "cdn.example", rrtype: "CNAME" },
        ],
      },
    });
    expect(decide(dns, policy)).toEqual([
      {
        kind: "learn-destination",
        address: "198.51.100.7",
        appId: 8,
        app: "netflix",
        ttlMs: 120_000,
        source: "dns",
      },
    ]);
    expect(
      kinds(
        decide(event({ application: { catalog: "https", engineName: "TLS", confidence: "DPI" } }), policy),
      ),
    ).toEqual(["classify"]);
  });
});

describe("first-packet routing", () => {
  it("routes a flow to a learned destination via its application's uplink; unknown ones via main", () => {
    const cache = new AppDestinationCache();
    expect(routeAtFirstPacket(policy, cache, "10.10.1.5", "198.51.100.20", 0)).toEqual({
      mark: 0,
      uplink: undefined,
      segmentId: 0,
    });
    cache.learn("198.51.100.20", 8, 0, 1000);
    expect(routeAtFirstPacket(policy, cache, "10.10.1.5", "198.51.100.20", 10)).toMatchObject({
      uplink: "isp2",
      appId: 8,
    });
    expect(routeAtFirstPacket(policy, cache, "10.10.1.5", "198.51.100.20", 1000).uplink).toBeUndefined();
  });

  it("sends the guest segment via the default uplink, but its streaming via isp2 (first match)", () => {
    const cache = new AppDestinationCache();
    cache.learn("198.51.100.20", 8, 0, 1000);
    expect(routeAtFirstPacket(policy, cache, "10.10.200.7", "203.0.113.99", 0)).toMatchObject({
      uplink: "isp1",
      segmentId: 1,
    });
    expect(routeAtFirstPacket(policy, cache, "10.10.200.7", "198.51.100.20", 0)).toMatchObject({
      uplink: "isp2",
      segmentId: 1,
    });
    expect(routeAtFirstPacket(policy, cache, "fd00:10:0:200::7", "2001:db8::1", 0)).toMatchObject({
      uplink: "isp1",
      segmentId: 1,
    });
  });
});
