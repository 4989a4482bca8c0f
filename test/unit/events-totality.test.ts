import fc from "fast-check";
import {
  dpiEventSchema,
  parseNdpiRecord,
  parseNprobeJson,
  parseSuricataEve,
  parseZeekLog,
  REJECT_REASONS,
  riskFromSuricataSeverity,
  severityFromRisk,
  type LineParser,
} from "@fos1/dpi/sdk/events";

const PARSERS: Record<string, LineParser> = {
  suricata: parseSuricataEve,
  zeek: (line) => parseZeekLog(line),
  "zeek conn": (line) => parseZeekLog(line, "conn"),
  ndpi: parseNdpiRecord,
  nprobe: parseNprobeJson,
};

// Field names the parsers read, so generated objects hit their validation paths.
const KEYS = [
  "timestamp",
  "ts",
  "event_type",
  "src_ip",
  "dest_ip",
  "src_port",
  "dest_port",
  "proto",
  "flow_id",
  "alert",
  "dns",
  "id.orig_h",
  "id.resp_h",
  "id.orig_p",
  "id.resp_p",
  "answers",
  "TTLs",
  "event",
  "app",
  "risk",
  "IPV4_SRC_ADDR",
  "IPV4_DST_ADDR",
  "L4_SRC_PORT",
  "PROTOCOL",
  "L7_PROTO",
  "L7_PROTO_RISK",
  "8",
  "12",
  "__proto__",
  "constructor",
];
const value = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom("10.0.0.1", "::1", "TCP", "udp", "icmp", "2024-01-01T00:00:00Z", 1e300, -1, 2 ** 64),
);
const record = fc.dictionary(fc.constantFrom(...KEYS), value);

describe("parsers are total", () => {
  it.each(Object.entries(PARSERS))(
    "%s: never throws on arbitrary text; events always satisfy the schema",
    (_, parse) => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc.json(),
            record.map((r) => JSON.stringify(r)),
          ),
          (line) => {
            const result = parse(line);
            if (result.ok) expect(dpiEventSchema.safeParse(result.event).success).toBe(true);
            else expect(REJECT_REASONS).toContain(result.reason);
          },
        ),
        { numRuns: 2000 },
      );
    },
  );
});

describe("risk and severity", () => {
  it("severity rises with risk and covers the scale", () => {
    expect([0, 10, 45, 75, 95].map(severityFromRisk)).toEqual(["info", "low", "medium", "high", "critical"]);
  });
  it("an unknown Suricata priority scores below priority 3", () => {
    expect(riskFromSuricataSeverity(4)).toBeLessThan(riskFromSuricataSeverity(3));
    expect(riskFromSuricataSeverity(undefined)).toBe(riskFromSuricataSeverity(3));
  });
});
