import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dpiEventSchema, parseNprobeJson, type DpiEvent, type ParseResult } from "@fos1/dpi/sdk/events";

const NPROBE = "/work/shared/testdata/nprobe";

function event(result: ParseResult): DpiEvent {
  if (!result.ok) throw new Error(`expected an event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

/** Information elements nProbe's NetFlow v9 templates use here: RFC 3954 names, plus nProbe's own from its IE table. */
function ieNames(): Map<number, string> {
  const names = new Map<number, string>([
    [1, "IN_BYTES"],
    [2, "IN_PKTS"],
    [4, "PROTOCOL"],
    [5, "SRC_TOS"],
    [6, "TCP_FLAGS"],
    [7, "L4_SRC_PORT"],
    [8, "IPV4_SRC_ADDR"],
    [9, "IPV4_SRC_MASK"],
    [10, "INPUT_SNMP"],
    [11, "L4_DST_PORT"],
    [12, "IPV4_DST_ADDR"],
    [13, "IPV4_DST_MASK"],
    [14, "OUTPUT_SNMP"],
    [15, "IPV4_NEXT_HOP"],
    [16, "SRC_AS"],
    [17, "DST_AS"],
    [21, "LAST_SWITCHED"],
    [22, "FIRST_SWITCHED"],
    [95, "APPLICATION_ID"],
    [96, "APPLICATION_NAME"],
  ]);
  const tsv = readFileSync(join(NPROBE, "nprobe-information-elements.tsv"), "utf8").split("\n").slice(1);
  for (const row of tsv) {
    const [id, , , , name] = row.split("\t");
    if (id && name && !names.has(Number(id))) names.set(Number(id), name);
  }
  return names;
}

const IPV4_FIELDS = new Set([8, 12, 15]);
const TEXT_FIELDS = new Set([96, 57591]);
const SWITCHED_FIELDS = new Set([21, 22]);

/**
 * The flows in real nProbe NetFlow v9 export packets, written the way nProbe's
 * JSON export writes a flow: keyed by IE id (or by name with `--json-labels`),
 * addresses as text, names as C strings, switched times in epoch seconds.
 */
function nprobeJsonFlows(payloads: readonly string[], labels: boolean): string[] {
  const names = ieNames();
  const templates = new Map<number, [number, number][]>();
  const lines: string[] = [];
  for (const file of payloads) {
    const packet = readFileSync(join(NPROBE, "raw-netflow-payloads", file));
    expect(packet.readUInt16BE(0)).toBe(9);
    const uptimeMs = packet.readUInt32BE(4);
    const unixSeconds = packet.readUInt32BE(8);
    for (let off = 20; off + 4 <= packet.length;) {
      const setId = packet.readUInt16BE(off);
      const setLength = packet.readUInt16BE(off + 2);
      const body = packet.subarray(off + 4, off + setLength);
      off += setLength;
      if (setId === 0) {
        for (let p = 0; p + 4 <= body.length;) {
          const templateId = body.readUInt16BE(p);
          const fieldCount = body.readUInt16BE(p + 2);
          p += 4;
          const fields: [number, number][] = [];
          for (let i = 0; i < fieldCount; i++, p += 4)
            fields.push([body.readUInt16BE(p), body.readUInt16BE(p + 2)]);
          templates.set(templateId, fields);
        }
      }
      const template = templates.get(setId);
      if (setId < 256 || !template) continue;
      const recordLength = template.reduce((sum, [, length]) => sum + length, 0);
      for (let p = 0; p + recordLength <= body.length; p += recordLength) {
        const flow: Record<string, unknown> = {};
        let q = p;
        for (const [id, length] of template) {
          const bytes = body.subarray(q, q + length);
          q += length;
          let value: unknown;
          if (IPV4_FIELDS.has(id)) value = [...bytes].join(".");
          else if (TEXT_FIELDS.has(id))
            value = bytes.subarray(0, Math.max(0, bytes.indexOf(0))).toString("latin1");
          else if (length <= 6) value = bytes.readUIntBE(0, length);
          else value = bytes.toString("hex");
          if (SWITCHED_FIELDS.has(id))
            value = unixSeconds - Math.round((uptimeMs - (value as number)) / 1000);
          flow[labels ? (names.get(id) ?? String(id)) : String(id)] = value;
        }
        lines.push(JSON.stringify(flow));
      }
    }
  }
  return lines;
}

describe("parseNprobeJson on nProbe's real NetFlow v9 exports, as nProbe writes them in JSON", () => {
  const plain = [
    ...nprobeJsonFlows(["netflow9_test_nprobe_tpl.dat", "netflow9_test_nprobe_data.dat"], false),
    ...nprobeJsonFlows(["netflow9_test_nprobe_dpi.dat"], false),
  ];
  const labelled = [
    ...nprobeJsonFlows(["netflow9_test_nprobe_tpl.dat", "netflow9_test_nprobe_data.dat"], true),
    ...nprobeJsonFlows(["netflow9_test_nprobe_dpi.dat"], true),
  ];

  it("finds the two data records the payloads hold", () => {
    expect(plain).toHaveLength(2);
  });

  it("parses every record, keyed by id or by label, to the same event", () => {
    const byId = plain.map((line) => event(parseNprobeJson(line)));
    const byLabel = labelled.map((line) => event(parseNprobeJson(line)));
    for (const e of [...byId, ...byLabel]) expect(dpiEventSchema.safeParse(e).success).toBe(true);
    const withoutExtra = (e: DpiEvent) => ({ ...e, extra: undefined });
    expect(byLabel.map(withoutExtra)).toEqual(byId.map(withoutExtra));
    expect(byLabel[0].extra).toMatchObject({ TCP_FLAGS: 0x18, SRC_TOS: 0x10 });
    expect(byId[0].extra).toMatchObject({ "6": 0x18, "5": 0x10 });
  });

  it("maps the plain flow: 172.16.32.201:22 -> 172.16.32.1:65058 tcp, 200 bytes in 2 packets", () => {
    const flow = event(parseNprobeJson(labelled[0]));
    expect(flow).toMatchObject({
      engine: "nprobe",
      kind: "flow",
      flow: { srcIp: "172.16.32.201", srcPort: 22, dstIp: "172.16.32.1", dstPort: 65058, protocol: "tcp" },
      counters: { c2sBytes: 200, c2sPackets: 2 },
      risk: 0,
      actionHint: "observe",
    });
    expect(flow.application).toBeUndefined();
  });

  it("maps the nDPI flow's L7_PROTO (82) as its application when the name field is empty", () => {
    const dpi = event(parseNprobeJson(labelled[1]));
    expect(dpi.application).toEqual({ engineName: "82" });
    expect(dpi.counters).toMatchObject({ c2sBytes: 82, c2sPackets: 1 });
    expect(dpi.extra).toMatchObject({ APPLICATION_ID: 82 });
  });
});

describe("parseNprobeJson on constructed --json-labels flows", () => {
  const flow = {
    IPV4_SRC_ADDR: "192.168.1.10",
    IPV4_DST_ADDR: "142.250.1.1",
    L4_SRC_PORT: 51000,
    L4_DST_PORT: 443,
    PROTOCOL: 6,
    IN_BYTES: "4200",
    IN_PKTS: 12,
    OUT_BYTES: 90000,
    OUT_PKTS: 70,
    FIRST_SWITCHED: 1700000000,
    LAST_SWITCHED: 1700000030,
    L7_PROTO: "91.124",
    L7_PROTO_NAME: "TLS.YouTube",
    L7_PROTO_CATEGORY: "Media",
    TLS_SERVER_NAME: "www.youtube.com",
    EXPORTER_IPV4_ADDRESS: "10.0.0.1",
  };
  const line = (patch: Record<string, unknown>) => JSON.stringify({ ...flow, ...patch });

  it("maps addresses, counters, times, nDPI application and server name; keeps unknown fields", () => {
    expect(event(parseNprobeJson(line({})))).toMatchObject({
      flow: { srcIp: "192.168.1.10", dstIp: "142.250.1.1", srcPort: 51000, dstPort: 443, protocol: "tcp" },
      timestamp: { epochMs: 1700000030000, raw: "1700000030" },
      counters: {
        c2sBytes: 4200,
        c2sPackets: 12,
        s2cBytes: 90000,
        s2cPackets: 70,
        firstSeenMs: 1700000000000,
      },
      application: { engineName: "TLS.YouTube", catalog: "youtube", category: "Media" },
      serverName: "www.youtube.com",
      actionHint: "classify",
      extra: { EXPORTER_IPV4_ADDRESS: "10.0.0.1" },
    });
  });

  it("reads nDPI risks from the bitmap or from the names", () => {
    const bitmap = event(parseNprobeJson(line({ L7_PROTO_RISK: 2 ** 7 + 2 ** 8 })));
    expect(bitmap.riskFactors).toEqual(["Obsolete TLS Version (1.1 or older)", "Weak TLS Cipher"]);
    const named = event(
      parseNprobeJson(line({ L7_PROTO_RISK_NAME: "Obsolete TLS Version (1.1 or older),Weak TLS Cipher" })),
    );
    expect(named.riskFactors).toEqual(bitmap.riskFactors);
    expect(named.risk).toBe(bitmap.risk);
    expect(bitmap.risk).toBeGreaterThan(0);
    expect(event(parseNprobeJson(line({ L7_RISK_SCORE: 260 }))).risk).toBeGreaterThan(bitmap.risk);
  });

  it("reads IPv6 flows and ICMP type/code", () => {
    const v6 = event(
      parseNprobeJson(
        line({
          IPV4_SRC_ADDR: undefined,
          IPV4_DST_ADDR: undefined,
          IPV6_SRC_ADDR: "2001:db8::10",
          IPV6_DST_ADDR: "2001:db8::1",
          PROTOCOL: 58,
          L4_SRC_PORT: 0,
          L4_DST_PORT: 0,
          ICMP_TYPE: 128 * 256,
        }),
      ),
    );
    expect(v6.flow).toMatchObject({ protocol: "icmpv6", ipVersion: 6, icmpType: 128, icmpCode: 0 });
  });

  it("rejects truncated lines, wrong types, a missing tuple and a missing time with reasons", () => {
    expect(parseNprobeJson(line({}).slice(0, 40))).toMatchObject({ ok: false, reason: "not-json" });
    expect(parseNprobeJson(line({ L4_SRC_PORT: "https" }))).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^L4_SRC_PORT: /),
    });
    expect(parseNprobeJson(line({ IPV4_SRC_ADDR: "300.1.1.1" }))).toMatchObject({
      reason: "invalid-field",
      detail: "IPV4_SRC_ADDR: expected an IPv4 or IPv6 address",
    });
    expect(parseNprobeJson(line({ IPV4_DST_ADDR: undefined }))).toMatchObject({
      ok: false,
      reason: "no-flow",
    });
    expect(parseNprobeJson(line({ L4_DST_PORT: undefined }))).toEqual({
      ok: false,
      reason: "invalid-field",
      detail: "L4_DST_PORT: required for tcp",
    });
    expect(parseNprobeJson(line({ FIRST_SWITCHED: undefined, LAST_SWITCHED: undefined }))).toMatchObject({
      reason: "invalid-field",
      detail: expect.stringMatching(/^LAST_SWITCHED: required/),
    });
  });
});
