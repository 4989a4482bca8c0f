import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  dpiEventSchema,
  parseLines,
  parseSuricataEve,
  type DpiEvent,
  type ParseResult,
} from "@fos1/dpi/sdk/events";

const SAMPLES = "/work/shared/testdata/suricata";
const sampleLines = (file: string) =>
  readFileSync(join(SAMPLES, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");

function event(result: ParseResult): DpiEvent {
  if (!result.ok) throw new Error(`expected an event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

function firstEvent(file: string, match: (e: DpiEvent) => boolean): DpiEvent {
  const found = sampleLines(file)
    .map((line) => parseSuricataEve(line))
    .flatMap((r) => (r.ok ? [r.event] : []))
    .find(match);
  if (!found) throw new Error(`no matching event in ${file}`);
  return found;
}

describe("parseSuricataEve on the real EVE samples", () => {
  // Every line parses, except Suricata's `stats` record, which is about no flow.
  const expected: Record<string, { parsed: number; rejected: Record<string, number> }> = {
    "elastic-integrations-test-eve-6-0.eve.json": { parsed: 3, rejected: {} },
    "elastic-integrations-test-eve-small.eve.json": { parsed: 11, rejected: { "no-flow": 1 } },
    "fhassanabad-first-org-conf-2015-alerts.eve.json": { parsed: 136, rejected: {} },
    "fhassanabad-honeypot-2018-alerts.eve.json": { parsed: 44, rejected: {} },
    "fhassanabad-wrccdc-2017-alerts.eve.json": { parsed: 161, rejected: {} },
    "fhassanabad-wrccdc-2018-alerts.eve.json": { parsed: 207, rejected: {} },
    "suricata-docs-eve-json-format-examples.eve.json": { parsed: 15, rejected: {} },
    "suricata-verify-output-eve-fileinfo.expected.eve.json": { parsed: 1, rejected: {} },
  };

  it.each(Object.entries(expected))("%s: exact parsed and rejected counts", (file, want) => {
    const { results, stats } = parseLines(readFileSync(join(SAMPLES, file), "utf8"), parseSuricataEve);
    expect(stats.parsed).toBe(want.parsed);
    const rejected = Object.fromEntries(Object.entries(stats.rejected).filter(([, n]) => n > 0));
    expect(rejected).toEqual(want.rejected);
    for (const result of results)
      if (result.ok) expect(dpiEventSchema.safeParse(result.event).success).toBe(true);
  });

  it("rejects the stats record as naming no flow", () => {
    const stats = sampleLines("elastic-integrations-test-eve-small.eve.json").find((l) =>
      l.includes('"stats"'),
    )!;
    expect(parseSuricataEve(stats)).toEqual({
      ok: false,
      reason: "no-flow",
      detail: "src_ip, dest_ip: a stats event names no flow",
    });
  });

  it("maps an alert's signature, 5-tuple, flow id, application, risk and counters", () => {
    const alert = firstEvent("elastic-integrations-test-eve-small.eve.json", (e) => e.kind === "alert");
    expect(alert).toMatchObject({
      engine: "suricata",
      sourceType: "alert",
      flow: {
        srcIp: "192.168.86.85",
        srcPort: 55641,
        dstIp: "192.168.156.70",
        dstPort: 443,
        protocol: "tcp",
        ipVersion: 4,
        flowId: "904992230150281",
      },
      signature: {
        id: 2024833,
        gid: 1,
        rev: 3,
        text: "ET POLICY Observed IP Lookup Domain (l2 .io in TLS SNI)",
        category: "Potential Corporate Privacy Violation",
      },
      application: { engineName: "tls", catalog: "https" },
      risk: 90,
      severity: "critical",
      actionHint: "inspect",
      serverName: "l2.io",
      counters: { c2sPackets: 4, s2cPackets: 3, c2sBytes: 793, s2cBytes: 343 },
    });
    // 2018-07-05T15:07:20.910626-0400
    expect(alert.timestamp.epochMs).toBeCloseTo(Date.UTC(2018, 6, 5, 19, 7, 20, 910) + 0.626, 2);
    expect(alert.timestamp.raw).toBe("2018-07-05T15:07:20.910626-0400");
  });

  it("maps Suricata severity 1/2/3 to decreasing risk", () => {
    const bySeverity = new Map<number, number>();
    for (const file of [
      "fhassanabad-wrccdc-2018-alerts.eve.json",
      "fhassanabad-first-org-conf-2015-alerts.eve.json",
    ]) {
      for (const line of sampleLines(file)) {
        const severity = (JSON.parse(line) as { alert: { severity: number } }).alert.severity;
        bySeverity.set(severity, event(parseSuricataEve(line)).risk);
      }
    }
    expect(bySeverity.get(1)).toBeGreaterThan(bySeverity.get(2)!);
    expect(bySeverity.get(2)).toBeGreaterThan(bySeverity.get(3)!);
  });

  it("keeps fields it does not map, nested ones under their parent", () => {
    const alert = firstEvent(
      "suricata-docs-eve-json-format-examples.eve.json",
      (e) => e.signature?.id === 2045001,
    );
    expect(alert.extra).toMatchObject({
      pcap_cnt: 130,
      pkt_src: "wire/pcap",
      direction: "to_client",
      ether: { src_mac: "52:54:00:36:3e:ff" },
      alert: { metadata: { signature_severity: ["Major"] } },
      flow: { src_ip: "192.168.100.237", dest_port: 35361 },
      http: { http_port: 35361 },
    });
    expect(alert.extra).not.toHaveProperty("src_ip");
    expect(alert.extra.alert).not.toHaveProperty("signature_id");
  });

  it("maps a v1 DNS answer with its TTL", () => {
    const dns = firstEvent("elastic-integrations-test-eve-small.eve.json", (e) => e.kind === "dns");
    expect(dns.dns).toEqual({
      query: "clients.l.google.com",
      rcode: "NOERROR",
      answers: [{ data: "175.16.199.1", rrtype: "A", ttl: 299 }],
    });
    expect(dns.serverName).toBe("clients.l.google.com");
    expect(dns.actionHint).toBe("observe");
  });

  it("maps a TLS event's SNI without its trailing dot, and its certificate", () => {
    const tls = firstEvent("elastic-integrations-test-eve-small.eve.json", (e) => e.kind === "tls");
    expect(tls.serverName).toBe("p33-btmmdns.icloud.com");
    expect(tls.tls).toMatchObject({ version: "TLS 1.2", issuer: expect.stringContaining("Apple IST CA 2") });
  });

  it("maps anomalies to inspect, with the anomaly as signature text", () => {
    const anomalies = sampleLines("suricata-docs-eve-json-format-examples.eve.json")
      .map((l) => parseSuricataEve(l))
      .flatMap((r) => (r.ok && r.event.kind === "anomaly" ? [r.event] : []));
    expect(anomalies).toHaveLength(4);
    for (const a of anomalies) expect(a.actionHint).toBe("inspect");
    expect(anomalies.map((a) => a.signature?.text)).toContain("decoder.udp.pkt_too_small");
  });

  it("writes IPv6 addresses in one canonical spelling", () => {
    const flow = firstEvent("elastic-integrations-test-eve-small.eve.json", (e) => e.kind === "flow");
    expect(flow.flow).toMatchObject({ srcIp: "fe80::fada:cff:fedc:87f1", dstIp: "ff02::1:2", ipVersion: 6 });
    expect(flow.application).toBeUndefined(); // app_proto "failed"
  });

  it("takes a timestamp without zone as UTC (as the honeypot export writes them)", () => {
    const line = sampleLines("fhassanabad-honeypot-2018-alerts.eve.json").find((l) =>
      l.includes('"2019-01-02T03:50:11.315110"'),
    )!;
    expect(event(parseSuricataEve(line)).timestamp.epochMs).toBeCloseTo(
      Date.UTC(2019, 0, 2, 3, 50, 11, 315) + 0.11,
      2,
    );
  });
});

describe("parseSuricataEve on constructed lines", () => {
  const base = {
    timestamp: "2024-01-01T00:00:00.000000+0000",
    flow_id: 1,
    event_type: "alert",
    src_ip: "10.0.0.1",
    src_port: 1234,
    dest_ip: "10.0.0.2",
    dest_port: 80,
    proto: "TCP",
    alert: { action: "allowed", gid: 1, signature_id: 1, rev: 1, signature: "test", severity: 2 },
  };
  const line = (patch: Record<string, unknown>) => JSON.stringify({ ...base, ...patch });

  it("rejects truncated JSON", () => {
    const result = parseSuricataEve(line({}).slice(0, 60));
    expect(result).toMatchObject({ ok: false, reason: "not-json" });
  });

  it("rejects JSON that is not an object", () => {
    expect(parseSuricataEve("[1,2]")).toMatchObject({ ok: false, reason: "not-object" });
    expect(parseSuricataEve("42")).toMatchObject({ ok: false, reason: "not-object" });
  });

  it("rejects wrong types with the field's path", () => {
    expect(parseSuricataEve(line({ src_port: "http" }))).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "src_port: Invalid input: expected number, received string",
    });
    expect(parseSuricataEve(line({ alert: { ...base.alert, signature_id: -1 } }))).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^alert\.signature_id: /),
    });
    expect(parseSuricataEve(line({ dest_ip: "10.0.0.300" }))).toMatchObject({
      reason: "invalid-field",
      detail: "dest_ip: expected an IPv4 or IPv6 address",
    });
    expect(parseSuricataEve(line({ timestamp: "yesterday" }))).toMatchObject({
      reason: "invalid-field",
      detail: "timestamp: not an ISO 8601 time: yesterday",
    });
  });

  it("rejects a line without its 5-tuple", () => {
    expect(parseSuricataEve(line({ src_ip: undefined }))).toMatchObject({ ok: false, reason: "no-flow" });
    expect(parseSuricataEve(line({ dest_port: undefined }))).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "dest_port: required for tcp",
    });
    expect(parseSuricataEve(line({ proto: undefined }))).toMatchObject({ reason: "invalid-field" });
  });

  it("keeps a u64 flow id exactly", () => {
    const text = line({}).replace('"flow_id":1', '"flow_id":18446744073709551615');
    expect(event(parseSuricataEve(text)).flow.flowId).toBe("18446744073709551615");
  });

  it("names the catalog application from the SNI when Suricata only says tls", () => {
    const tls = event(
      parseSuricataEve(
        line({
          event_type: "tls",
          alert: undefined,
          app_proto: "tls",
          tls: { sni: "www.youtube.com", version: "TLS 1.3" },
        }),
      ),
    );
    expect(tls.application).toEqual({ engineName: "tls", catalog: "youtube" });
    const plain = event(
      parseSuricataEve(line({ event_type: "tls", alert: undefined, tls: { sni: "unknown.example" } })),
    );
    expect(plain.application).toEqual({ engineName: "tls", catalog: "https" });
  });

  it("hints block for an alert the IPS dropped", () => {
    expect(event(parseSuricataEve(line({ alert: { ...base.alert, action: "blocked" } }))).actionHint).toBe(
      "block",
    );
  });

  it("carries ICMP type and code instead of ports, and the community id and VLANs", () => {
    const icmp = event(
      parseSuricataEve(
        line({
          proto: "ICMP",
          src_port: undefined,
          dest_port: undefined,
          icmp_type: 8,
          icmp_code: 0,
          vlan: [10, 20],
          community_id: "1:abc=",
        }),
      ),
    );
    expect(icmp.flow).toEqual({
      srcIp: "10.0.0.1",
      dstIp: "10.0.0.2",
      protocol: "icmp",
      ipVersion: 4,
      icmpType: 8,
      icmpCode: 0,
      vlan: [10, 20],
      flowId: "1",
      communityId: "1:abc=",
    });
  });

  it("reads v2 and v3 DNS answer lists", () => {
    const v2 = event(
      parseSuricataEve(
        line({
          event_type: "dns",
          alert: undefined,
          proto: "UDP",
          dns: {
            version: 2,
            type: "answer",
            rrname: "www.example.com",
            rrtype: "A",
            rcode: "NOERROR",
            answers: [
              { rrname: "www.example.com", rrtype: "CNAME", ttl: 60, rdata: "edge.example.net" },
              { rrname: "edge.example.net", rrtype: "A", ttl: 30, rdata: "192.0.2.7" },
            ],
            grouped: { A: ["192.0.2.7"], CNAME: ["edge.example.net"] },
          },
        }),
      ),
    );
    expect(v2.dns?.answers).toEqual([
      { data: "edge.example.net", rrtype: "CNAME", ttl: 60 },
      { data: "192.0.2.7", rrtype: "A", ttl: 30 },
    ]);
    expect(v2.extra).not.toHaveProperty("dns.grouped");
    const v3 = event(
      parseSuricataEve(
        line({
          event_type: "dns",
          alert: undefined,
          proto: "UDP",
          dns: {
            version: 3,
            rcode: "NOERROR",
            queries: [{ rrname: "api.example.org", rrtype: "AAAA" }],
            answers: [{ rrname: "api.example.org", rrtype: "AAAA", ttl: 300, rdata: "2001:db8::1" }],
          },
        }),
      ),
    );
    expect(v3.dns).toEqual({
      query: "api.example.org",
      rrtype: "AAAA",
      rcode: "NOERROR",
      answers: [{ data: "2001:db8::1", rrtype: "AAAA", ttl: 300 }],
    });
  });

  it("keeps answers it cannot map (SRV objects) in extra", () => {
    const srv = event(
      parseSuricataEve(
        line({
          event_type: "dns",
          alert: undefined,
          proto: "UDP",
          dns: { version: 2, type: "answer", answers: [{ rrtype: "SRV", ttl: 5, srv: { port: 5060 } }] },
        }),
      ),
    );
    expect(srv.dns?.answers).toEqual([]);
    expect(srv.extra).toMatchObject({ dns: { answers: [{ rrtype: "SRV", srv: { port: 5060 } }] } });
  });
});
