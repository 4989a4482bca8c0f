import { z } from "zod";
import { buildEvent, engineApplication } from "./build-event";
import { fastSchema } from "./fast-schema";
import { flowTuple, normalizeProtocol, normalizeServerName } from "./flow-tuple";
import { omitPaths, parseJsonObject, pathTree, type JsonRecord } from "./json-line";
import { describeIssue, reject, type ParseResult } from "./parse-result";
import { ndpiRiskNamesFromBitmap, riskFromNdpiRisks, riskFromNdpiScore } from "./risk";
import { ipText } from "./wire-types";

/**
 * nProbe information elements by NetFlow v9 id: nProbe keys its JSON export
 * by these ids unless run with `--json-labels`, which keys it by name. Ids of
 * the standard fields are RFC 3954's; the rest are nProbe's (its
 * flow_information_elements reference).
 */
const NPROBE_NAME_BY_ID: Readonly<Record<string, string>> = {
  "1": "IN_BYTES",
  "2": "IN_PKTS",
  "4": "PROTOCOL",
  "7": "L4_SRC_PORT",
  "8": "IPV4_SRC_ADDR",
  "11": "L4_DST_PORT",
  "12": "IPV4_DST_ADDR",
  "21": "LAST_SWITCHED",
  "22": "FIRST_SWITCHED",
  "23": "OUT_BYTES",
  "24": "OUT_PKTS",
  "27": "IPV6_SRC_ADDR",
  "28": "IPV6_DST_ADDR",
  "32": "ICMP_TYPE",
  "58": "SRC_VLAN",
  "148": "FLOW_ID",
  "152": "FLOW_START_MILLISECONDS",
  "153": "FLOW_END_MILLISECONDS",
  "57590": "L7_PROTO",
  "57591": "L7_PROTO_NAME",
  "57594": "FLOW_SERVER_NAME",
  "57659": "HTTP_HOST",
  "57660": "TLS_SERVER_NAME",
  "57973": "L7_PROTO_CATEGORY",
  "57981": "L7_PROTO_RISK",
  "57982": "L7_PROTO_RISK_NAME",
  "57999": "L7_RISK_SCORE",
  "58032": "L7_CONFIDENCE",
  "58500": "PROTOCOL_MAP",
};

// nProbe writes numbers either as JSON numbers or as decimal strings, depending on the field and version.
const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^[0-9]+$/)
    .transform(Number),
]);
const text = z.string().optional();

const nprobeRecord = z.object({
  IPV4_SRC_ADDR: ipText.optional(),
  IPV4_DST_ADDR: ipText.optional(),
  IPV6_SRC_ADDR: ipText.optional(),
  IPV6_DST_ADDR: ipText.optional(),
  L4_SRC_PORT: count.pipe(z.number().max(65535)).optional(),
  L4_DST_PORT: count.pipe(z.number().max(65535)).optional(),
  PROTOCOL: count.pipe(z.number().max(255)).optional(),
  PROTOCOL_MAP: text,
  ICMP_TYPE: count.optional(),
  SRC_VLAN: count.pipe(z.number().max(4095)).optional(),
  FLOW_ID: z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]+$/)]).optional(),
  IN_BYTES: count.optional(),
  IN_PKTS: count.optional(),
  OUT_BYTES: count.optional(),
  OUT_PKTS: count.optional(),
  FIRST_SWITCHED: count.optional(),
  LAST_SWITCHED: count.optional(),
  FLOW_START_MILLISECONDS: count.optional(),
  FLOW_END_MILLISECONDS: count.optional(),
  /** nDPI protocol id: `app` or `master.app` (`7.126`). */
  L7_PROTO: z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]+(\.[0-9]+)?$/)]).optional(),
  L7_PROTO_NAME: text,
  L7_PROTO_CATEGORY: text,
  L7_CONFIDENCE: z.union([z.string(), z.number()]).optional(),
  /** nDPI flow-risk bitmap (bit n = risk n). */
  L7_PROTO_RISK: z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]+$/)]).optional(),
  L7_PROTO_RISK_NAME: text,
  L7_RISK_SCORE: count.optional(),
  HTTP_HOST: text,
  TLS_SERVER_NAME: text,
  SSL_SERVER_NAME: text,
  FLOW_SERVER_NAME: text,
});
type NprobeRecord = z.infer<typeof nprobeRecord>;
const parseNprobeFields = fastSchema(nprobeRecord);
const MAPPED_PATHS = pathTree(Object.keys(nprobeRecord.shape).map((key) => [key]));

/**
 * One flow of nProbe's JSON export (`--json-labels` or numeric keys) as a
 * DpiEvent. nProbe exports a flow when it ends or times out, so every event
 * is a flow record; with nDPI fields it also names the application.
 * Total: never throws.
 */
export function parseNprobeJson(line: string): ParseResult {
  const json = parseJsonObject(line);
  if (!json.ok) return json;
  const record = withLabels(json.record);
  const parsed = parseNprobeFields(record);
  if (!parsed.success) return reject("invalid-field", describeIssue(parsed.error));
  const flow = parsed.data;

  const srcIp = flow.IPV4_SRC_ADDR ?? flow.IPV6_SRC_ADDR;
  const dstIp = flow.IPV4_DST_ADDR ?? flow.IPV6_DST_ADDR;
  if (srcIp === undefined || dstIp === undefined) {
    return reject(
      "no-flow",
      "IPV4_SRC_ADDR, IPV4_DST_ADDR: the record names no flow (nor IPV6_SRC_ADDR, IPV6_DST_ADDR)",
    );
  }
  const protocolValue = flow.PROTOCOL ?? flow.PROTOCOL_MAP;
  if (protocolValue === undefined)
    return reject("invalid-field", "PROTOCOL: required with the flow's addresses");
  const protocol = normalizeProtocol(protocolValue);
  if (protocol === undefined)
    return reject("invalid-field", `PROTOCOL_MAP: not an IP protocol: ${protocolValue}`);
  if (
    (protocol === "tcp" || protocol === "udp") &&
    (flow.L4_SRC_PORT === undefined || flow.L4_DST_PORT === undefined)
  ) {
    return reject(
      "invalid-field",
      `${flow.L4_SRC_PORT === undefined ? "L4_SRC_PORT" : "L4_DST_PORT"}: required for ${protocol}`,
    );
  }
  const time = exportTime(flow);
  if (time === undefined) {
    return reject(
      "invalid-field",
      "LAST_SWITCHED: required (or FLOW_END_MILLISECONDS, FIRST_SWITCHED, FLOW_START_MILLISECONDS)",
    );
  }

  const serverName = normalizeServerName(
    flow.TLS_SERVER_NAME ?? flow.SSL_SERVER_NAME ?? flow.HTTP_HOST ?? flow.FLOW_SERVER_NAME,
  );
  // nProbe writes an empty name when nDPI has none for the id.
  const engineName = flow.L7_PROTO_NAME || (flow.L7_PROTO === undefined ? undefined : String(flow.L7_PROTO));
  const riskFactors = riskNames(flow);
  const risk =
    riskFactors.length > 0 ? riskFromNdpiRisks(riskFactors) : riskFromNdpiScore(flow.L7_RISK_SCORE ?? 0);
  const named = engineName !== undefined && engineName !== "Unknown";

  return {
    ok: true,
    event: buildEvent({
      engine: "nprobe",
      kind: "flow",
      sourceType: "flow",
      timestamp: time,
      flow: flowTuple({
        srcIp,
        dstIp,
        srcPort: flow.L4_SRC_PORT,
        dstPort: flow.L4_DST_PORT,
        protocol,
        vlan: flow.SRC_VLAN === undefined ? undefined : [flow.SRC_VLAN],
        // ICMP_TYPE is type * 256 + code.
        icmpType: flow.ICMP_TYPE === undefined ? undefined : flow.ICMP_TYPE >> 8,
        icmpCode: flow.ICMP_TYPE === undefined ? undefined : flow.ICMP_TYPE & 0xff,
        flowId: flow.FLOW_ID === undefined ? undefined : String(flow.FLOW_ID),
      }),
      application:
        engineName === undefined
          ? undefined
          : engineApplication("nprobe", engineName, serverName, {
              category: flow.L7_PROTO_CATEGORY,
              confidence: flow.L7_CONFIDENCE === undefined ? undefined : String(flow.L7_CONFIDENCE),
            }),
      risk,
      riskFactors,
      actionHint: named ? "classify" : "observe",
      serverName,
      counters: {
        c2sPackets: flow.IN_PKTS,
        c2sBytes: flow.IN_BYTES,
        s2cPackets: flow.OUT_PKTS,
        s2cBytes: flow.OUT_BYTES,
        firstSeenMs: flow.FLOW_START_MILLISECONDS ?? secondsToMs(flow.FIRST_SWITCHED),
        lastSeenMs: flow.FLOW_END_MILLISECONDS ?? secondsToMs(flow.LAST_SWITCHED),
      },
      extra: omitPaths(record, MAPPED_PATHS),
    }),
  };
}

/** The record keyed by IE name, whichever way nProbe keyed it; unknown numeric keys stay as they are. */
function withLabels(record: JsonRecord): JsonRecord {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [NPROBE_NAME_BY_ID[key] ?? key, value]),
  );
}

/** When the flow was exported: its end, else its start (nProbe writes epoch seconds or milliseconds). */
function exportTime(flow: NprobeRecord) {
  if (flow.FLOW_END_MILLISECONDS !== undefined) {
    return { epochMs: flow.FLOW_END_MILLISECONDS, raw: String(flow.FLOW_END_MILLISECONDS) };
  }
  if (flow.LAST_SWITCHED !== undefined)
    return { epochMs: flow.LAST_SWITCHED * 1000, raw: String(flow.LAST_SWITCHED) };
  if (flow.FLOW_START_MILLISECONDS !== undefined) {
    return { epochMs: flow.FLOW_START_MILLISECONDS, raw: String(flow.FLOW_START_MILLISECONDS) };
  }
  if (flow.FIRST_SWITCHED !== undefined)
    return { epochMs: flow.FIRST_SWITCHED * 1000, raw: String(flow.FIRST_SWITCHED) };
  return undefined;
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

/** nDPI risk names: nProbe's comma-separated names, else the names of the bitmap's bits. */
function riskNames(flow: NprobeRecord): string[] {
  if (flow.L7_PROTO_RISK_NAME) {
    return flow.L7_PROTO_RISK_NAME.split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "");
  }
  return flow.L7_PROTO_RISK === undefined ? [] : ndpiRiskNamesFromBitmap(BigInt(flow.L7_PROTO_RISK));
}
