import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  dnsAddressAnswers,
  dpiEventSchema,
  parseLines,
  parseZeekLog,
  type DpiEvent,
  type ParseResult,
} from "@fos1/dpi/sdk/events";

const SAMPLES = "/work/shared/testdata/zeek";
const sampleLines = (file: string) =>
  readFileSync(join(SAMPLES, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");

function event(result: ParseResult): DpiEvent {
  if (!result.ok) throw new Error(`expected an event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

const zed = (log: string) => `zed-sample-data-wrccdc2018-${log}.json`;

describe("parseZeekLog on the real Zeek samples", () => {
  // Rejected on purpose: inventories and certificates are about no connection
  // (known_services, software, x509); kerberos.log does not say its transport
  // and Zeek runs it over both; one weird from the IP-tunnel decoder has none.
  const expected: Record<string, { parsed: number; kind?: string; rejected: Record<string, number> }> = {
    "elastic-integrations-test-conn.json": { parsed: 18, kind: "flow", rejected: {} },
    "rita-json_with_all_fields-conn.json": { parsed: 29, kind: "flow", rejected: {} },
    "rita-json_with_all_fields-dns.json": { parsed: 34, kind: "dns", rejected: {} },
    "rita-valid_json-http.json": { parsed: 300, kind: "http", rejected: {} },
    [zed("dce_rpc")]: { parsed: 78, kind: "protocol", rejected: {} },
    [zed("dns")]: { parsed: 300, kind: "dns", rejected: {} },
    [zed("dpd")]: { parsed: 77, kind: "anomaly", rejected: {} },
    [zed("ftp")]: { parsed: 93, kind: "protocol", rejected: {} },
    [zed("kerberos")]: { parsed: 0, rejected: { "invalid-field": 11 } },
    [zed("known_services")]: { parsed: 0, rejected: { "no-flow": 100 } },
    [zed("modbus")]: { parsed: 100, kind: "protocol", rejected: {} },
    [zed("notice")]: { parsed: 207, kind: "notice", rejected: {} },
    [zed("ntlm")]: { parsed: 100, kind: "protocol", rejected: {} },
    [zed("ntp")]: { parsed: 100, kind: "protocol", rejected: {} },
    [zed("rdp")]: { parsed: 100, kind: "protocol", rejected: {} },
    [zed("smb_mapping")]: { parsed: 100, kind: "protocol", rejected: {} },
    [zed("smtp")]: { parsed: 100, kind: "protocol", rejected: {} },
    [zed("snmp")]: { parsed: 65, kind: "protocol", rejected: {} },
    [zed("software")]: { parsed: 0, rejected: { "no-flow": 100 } },
    [zed("ssh")]: { parsed: 22, kind: "protocol", rejected: {} },
    [zed("ssl")]: { parsed: 300, kind: "tls", rejected: {} },
    [zed("weird")]: { parsed: 199, kind: "anomaly", rejected: { "invalid-field": 1 } },
    [zed("x509")]: { parsed: 0, rejected: { "no-flow": 100 } },
  };

  it.each(Object.entries(expected))("%s: exact parsed and rejected counts", (file, want) => {
    const { results, stats } = parseLines(readFileSync(join(SAMPLES, file), "utf8"), (l) => parseZeekLog(l));
    expect(stats.parsed).toBe(want.parsed);
    expect(Object.fromEntries(Object.entries(stats.rejected).filter(([, n]) => n > 0))).toEqual(
      want.rejected,
    );
    for (const result of results) {
      if (!result.ok) continue;
      expect(dpiEventSchema.safeParse(result.event).success).toBe(true);
      expect(result.event.kind).toBe(want.kind);
    }
  });

  it("says why each rejected sample line was rejected", () => {
    expect(parseZeekLog(sampleLines(zed("kerberos"))[0])).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "proto: a kerberos record without proto does not say its transport",
    });
    expect(parseZeekLog(sampleLines(zed("x509"))[0])).toEqual({
      ok: false,
      reason: "no-flow",
      detail: "id.orig_h, id.resp_h: a x509 record names no connection",
    });
    const tunnelWeird = sampleLines(zed("weird")).find((l) => l.includes("invalid_inner_IP_version"))!;
    expect(parseZeekLog(tunnelWeird)).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^proto: /),
    });
  });

  it("maps a notice: note as signature, message, 5-tuple, uid, risk and inspect hint", () => {
    const notice = event(parseZeekLog(sampleLines(zed("notice"))[0]));
    expect(notice).toMatchObject({
      engine: "zeek",
      kind: "notice",
      sourceType: "notice",
      flow: {
        srcIp: "10.164.94.120",
        srcPort: 39611,
        dstIp: "10.47.3.200",
        dstPort: 443,
        protocol: "tcp",
        flowId: "CmC9kY1X0u9nP78KZc",
      },
      signature: { text: "SSL::Invalid_Server_Cert", category: "SSL" },
      message: "SSL certificate validation failed with (unable to get local issuer certificate)",
      risk: 30,
      actionHint: "inspect",
    });
    expect(notice.timestamp.raw).toBe("2018-03-24T17:15:20.629574Z");
    expect(notice.timestamp.epochMs).toBeCloseTo(Date.UTC(2018, 2, 24, 17, 15, 20, 629) + 0.574, 2);
    expect(notice.extra).toMatchObject({
      fuid: "FGP2jt4dhD3bYZ923k",
      actions: ["Notice::ACTION_LOG"],
      p: 443,
    });
  });

  it("pairs DNS answers with their TTLs and yields the addresses to learn", () => {
    const line = sampleLines(zed("dns")).find((l) =>
      l.includes('"answers":["ise.wrccdc.cpp.edu","134.71.3.16"]'),
    )!;
    const dns = event(parseZeekLog(line));
    expect(dns.dns).toEqual({
      query: "ise.wrccdc.org",
      rrtype: "A",
      rcode: "NOERROR",
      answers: [
        { data: "ise.wrccdc.cpp.edu", ttl: 2230 },
        { data: "134.71.3.16", ttl: 41830 },
      ],
    });
    expect(dnsAddressAnswers(dns)).toEqual([{ address: "134.71.3.16", ttl: 41830 }]);
    expect(dns.serverName).toBe("ise.wrccdc.org");
  });

  it("maps an ssl record's server name, and the catalog application of the service", () => {
    const ssl = sampleLines(zed("ssl"))
      .map((l) => event(parseZeekLog(l)))
      .find((e) => e.serverName !== undefined)!;
    expect(ssl.application).toMatchObject({ engineName: "ssl" });
    expect(ssl.tls?.version).toMatch(/^TLS/);
  });

  it("maps conn counters and end time, and hints classify when Zeek named the service", () => {
    const conn = event(parseZeekLog(sampleLines("rita-json_with_all_fields-conn.json")[1]));
    expect(conn).toMatchObject({
      kind: "flow",
      application: { engineName: "http", catalog: "http" },
      actionHint: "classify",
      counters: { c2sPackets: 6, s2cPackets: 5, c2sBytes: 493, s2cBytes: 701 },
    });
    expect(conn.timestamp.raw).toBe("1517422385.780131");
    expect(conn.counters!.lastSeenMs! - conn.counters!.firstSeenMs!).toBeCloseTo(46139.131, 0);
  });

  it("reads ICMP conns' type and code from the port fields", () => {
    const icmp = sampleLines("elastic-integrations-test-conn.json")
      .map((l) => event(parseZeekLog(l)))
      .find((e) => e.flow.protocol === "icmp")!;
    expect(icmp.flow.srcPort).toBeUndefined();
    expect(icmp.flow.icmpType).toEqual(expect.any(Number));
  });

  it("reads both Unix-seconds and ISO timestamps in one log", () => {
    const events = sampleLines("elastic-integrations-test-conn.json").map((l) => event(parseZeekLog(l)));
    const iso = events.find((e) => e.timestamp.raw === "2021-06-09T20:55:13.160328Z")!;
    expect(iso.timestamp.epochMs).toBeCloseTo(Date.UTC(2021, 5, 9, 20, 55, 13, 160) + 0.328, 2);
  });
});

describe("parseZeekLog on constructed lines", () => {
  const conn = {
    ts: 1700000000.5,
    uid: "Cabc",
    "id.orig_h": "2001:db8:0:0:0:0:0:1",
    "id.orig_p": 5000,
    "id.resp_h": "2001:db8::2",
    "id.resp_p": 443,
    proto: "tcp",
    service: "ssl",
    conn_state: "SF",
  };
  const line = (patch: Record<string, unknown>) => JSON.stringify({ ...conn, ...patch });

  it("infers the log from its fields when neither logType nor _path says it", () => {
    expect(event(parseZeekLog(line({}))).sourceType).toBe("conn");
  });

  it("lets the caller's logType win over the line's _path", () => {
    expect(event(parseZeekLog(line({ _path: "conn" }), "conn_long")).sourceType).toBe("conn_long");
  });

  it("canonicalises IPv6 addresses", () => {
    expect(event(parseZeekLog(line({}))).flow).toMatchObject({ srcIp: "2001:db8::1", ipVersion: 6 });
  });

  it("rejects truncated, mistyped and tuple-less lines with reasons", () => {
    expect(parseZeekLog(line({}).slice(0, -10))).toMatchObject({ ok: false, reason: "not-json" });
    expect(parseZeekLog(line({ "id.orig_p": "5000" }))).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "id.orig_p: Invalid input: expected number, received string",
    });
    expect(parseZeekLog(line({ orig_pkts: -1 }))).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^orig_pkts: /),
    });
    expect(parseZeekLog(line({ "id.resp_h": undefined }))).toMatchObject({ reason: "no-flow" });
    expect(parseZeekLog(line({ ts: "not a time" }))).toMatchObject({ reason: "invalid-field" });
    expect(parseZeekLog(line({ proto: "unknown_transport" }))).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "proto: not an IP protocol: unknown_transport",
    });
  });

  it("reads another log's same-named field as unknown, not as its own", () => {
    // `service` is a list in known_services; in an unknown log it is kept, not mapped.
    const other = event(parseZeekLog(line({ service: ["x"], conn_state: undefined }), "mylog"));
    expect(other.extra.service).toEqual(["x"]);
  });

  it("scores notices by type, unknown types in the middle", () => {
    const notice = (note: string) =>
      event(parseZeekLog(line({ service: undefined, conn_state: undefined, note, msg: "m" }), "notice")).risk;
    expect(notice("SSH::Password_Guessing")).toBeGreaterThan(notice("SSL::Invalid_Server_Cert"));
    expect(notice("Heartbleed::SSL_Heartbeat_Attack_Success")).toBe(100);
    expect(notice("Site::Custom")).toBe(40);
  });
});
