import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  dpiEventSchema,
  parseLines,
  parseNdpiRecord,
  riskFromNdpiRisks,
  type DpiEvent,
  type ParseResult,
} from "@fos1/dpi/sdk/events";
import { buildSensor, NDPI_PCAP_DIR, runSensor } from "./ndpi-sensor-harness";

function event(result: ParseResult): DpiEvent {
  if (!result.ok) throw new Error(`expected an event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

describe("parseNdpiRecord on fos1-ndpi-sensor output for the nDPI captures", () => {
  beforeAll(() => buildSensor());
  const pcaps = readdirSync(NDPI_PCAP_DIR).sort();

  it.each(pcaps)("%s: every line parses, one classification and one end per flow", (pcap) => {
    const run = runSensor(["-r", join(NDPI_PCAP_DIR, pcap)]);
    expect(run.status).toBe(0);
    const { results, stats } = parseLines(run.stdout, parseNdpiRecord);
    expect(stats.parsed).toBeGreaterThan(0);
    expect(Object.values(stats.rejected).reduce((a, b) => a + b, 0)).toBe(0);
    const events = results.map(event);
    for (const e of events) expect(dpiEventSchema.safeParse(e).success).toBe(true);
    const classified = events.filter((e) => e.kind === "classification").map((e) => e.flow.flowId);
    const ended = events.filter((e) => e.kind === "flow").map((e) => e.flow.flowId);
    expect(new Set(classified).size).toBe(classified.length);
    expect([...classified].sort()).toEqual([...ended].sort());
  });

  it("names YouTube over QUIC as the catalog's youtube, with nDPI's category and confidence", () => {
    const run = runSensor(["-r", join(NDPI_PCAP_DIR, "youtube_quic.pcap")]);
    const youtube = parseLines(run.stdout, parseNdpiRecord)
      .results.map(event)
      .find((e) => e.application?.engineName.endsWith("YouTube"));
    expect(youtube).toBeDefined();
    expect(youtube!.application).toMatchObject({ catalog: "youtube", confidence: expect.any(String) });
    expect(youtube!.actionHint).toBe("classify");
  });

  it("turns nDPI flow risks into risk factors and a risk score", () => {
    const run = runSensor(["-r", join(NDPI_PCAP_DIR, "dns_fragmented.pcap")]);
    const risky = parseLines(run.stdout, parseNdpiRecord)
      .results.map(event)
      .find((e) => e.riskFactors?.includes("Fragmented DNS Message"))!;
    expect(risky.risk).toBe(riskFromNdpiRisks(risky.riskFactors!));
    expect(risky.risk).toBeGreaterThan(0);
    expect(risky.serverName).toMatch(/weberlab\.de$/);
  });
});

describe("parseNdpiRecord on constructed lines", () => {
  const record = {
    event: "classified",
    ts: 1642965458.402123,
    flow_id: 7,
    ip_version: 4,
    proto: "TCP",
    src_ip: "192.168.1.178",
    src_port: 50076,
    dst_ip: "144.195.73.154",
    dst_port: 443,
    app: "TLS.Zoom",
    master: "TLS",
    app_name: "Zoom",
    category: "Video",
    confidence: "DPI",
    host: "zoomsjccv154mmr.sjc.zoom.us",
    c2s_packets: 12,
    c2s_bytes: 3043,
    s2c_packets: 8,
    s2c_bytes: 5520,
    first_seen: 1642965458.402,
    last_seen: 1642965459.131,
    risk: [],
  };
  const line = (patch: Record<string, unknown>) => JSON.stringify({ ...record, ...patch });

  it("maps the contract's fields", () => {
    const classified = event(parseNdpiRecord(line({})));
    expect(classified).toMatchObject({
      engine: "ndpi",
      kind: "classification",
      sourceType: "classified",
      timestamp: { raw: "1642965458.402123" },
      flow: {
        srcIp: "192.168.1.178",
        srcPort: 50076,
        dstIp: "144.195.73.154",
        dstPort: 443,
        protocol: "tcp",
        flowId: "7",
      },
      application: { engineName: "TLS.Zoom", category: "Video", confidence: "DPI" },
      serverName: "zoomsjccv154mmr.sjc.zoom.us",
      risk: 0,
      severity: "info",
      counters: { c2sPackets: 12, c2sBytes: 3043, s2cPackets: 8, s2cBytes: 5520 },
      extra: {},
    });
    expect(classified.timestamp.epochMs).toBeCloseTo(1642965458402.123, 2);
    expect(event(parseNdpiRecord(line({ event: "end" }))).kind).toBe("flow");
  });

  it("keeps VLAN, u64 flow ids, and fields the contract does not name", () => {
    const text = line({ vlan: 100, sensor: "node-a" }).replace(
      '"flow_id":7',
      '"flow_id":18446744073709551557',
    );
    const tagged = event(parseNdpiRecord(text));
    expect(tagged.flow.vlan).toEqual([100]);
    expect(tagged.flow.flowId).toBe("18446744073709551557");
    expect(tagged.extra).toEqual({ sensor: "node-a" });
  });

  it("keeps Unknown as nDPI's verdict, with no catalog name and no server name for an empty host", () => {
    const unknown = event(
      parseNdpiRecord(line({ app: "Unknown", master: "Unknown", app_name: "Unknown", host: "" })),
    );
    expect(unknown.application).toEqual({ engineName: "Unknown", category: "Video", confidence: "DPI" });
    expect(unknown.serverName).toBeUndefined();
  });

  it("scores severe nDPI risks above hygiene findings", () => {
    const severe = event(parseNdpiRecord(line({ risk: ["Possible Exploit Detected"] })));
    const hygiene = event(parseNdpiRecord(line({ risk: ["TLS (probably) Not Carrying HTTPS"] })));
    expect(severe.risk).toBeGreaterThan(hygiene.risk);
    expect(severe.riskFactors).toEqual(["Possible Exploit Detected"]);
  });

  it("rejects truncated lines, wrong types and a missing 5-tuple with the field", () => {
    expect(parseNdpiRecord(line({}).slice(0, 100))).toMatchObject({ ok: false, reason: "not-json" });
    expect(parseNdpiRecord(line({ src_port: 70000 }))).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^src_port: /),
    });
    expect(parseNdpiRecord(line({ dst_ip: undefined }))).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "dst_ip: Invalid input: expected string, received undefined",
    });
    expect(parseNdpiRecord(line({ event: "update" }))).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^event: /),
    });
    expect(parseNdpiRecord(line({ risk: "none" }))).toMatchObject({
      detail: expect.stringMatching(/^risk: /),
    });
  });

  it("names ICMPv6 and drops the port slots for it", () => {
    const icmp6 = event(
      parseNdpiRecord(
        line({
          ip_version: 6,
          proto: "ICMPV6",
          src_ip: "fe80::1",
          dst_ip: "ff02::1",
          src_port: 0,
          dst_port: 0,
        }),
      ),
    );
    expect(icmp6.flow).toMatchObject({ protocol: "icmpv6", ipVersion: 6 });
    expect(icmp6.flow.srcPort).toBeUndefined();
    expect(icmp6.flow.icmpType).toBeUndefined(); // the sensor writes 0 ports for ICMP, not type/code
  });
});
