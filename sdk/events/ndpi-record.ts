import { z } from "zod";
import { buildEvent, engineApplication } from "./build-event";
import { fastSchema } from "./fast-schema";
import { flowTuple, normalizeProtocol, normalizeServerName } from "./flow-tuple";
import { numberText, omitPaths, parseJsonObject, pathTree } from "./json-line";
import { describeIssue, reject, type ParseResult } from "./parse-result";
import { riskFromNdpiRisks } from "./risk";
import { flowIdNumber, ipText, portNumber, unsigned } from "./wire-types";

/**
 * One line of `fos1-ndpi-sensor` output: the contract between the sensor
 * (sensor-images/ndpi) and the agent. `classified` is printed once, when nDPI
 * has decided or given up; `end` once when the flow ends, with final counters.
 * `src_*` is the flow's initiator. `vlan` appears only for tagged traffic.
 */
export const ndpiRecordSchema = z.object({
  event: z.enum(["classified", "end"]),
  /** Unix seconds of the packet that triggered the line. */
  ts: z.number().nonnegative(),
  flow_id: flowIdNumber,
  ip_version: z.union([z.literal(4), z.literal(6)]),
  proto: z.string().regex(/^(TCP|UDP|ICMP|ICMPV6|[0-9]{1,3})$/),
  vlan: z.number().int().min(0).max(4095).optional(),
  src_ip: ipText,
  src_port: portNumber,
  dst_ip: ipText,
  dst_port: portNumber,
  /** `Master.App` or `App` exactly as ndpiReader 4.2 prints it (`TLS.YouTube`, `HTTP`, `Unknown`). */
  app: z.string().min(1),
  master: z.string(),
  app_name: z.string(),
  category: z.string(),
  confidence: z.string(),
  /** TLS SNI, HTTP Host or DNS query; empty when nDPI saw none. */
  host: z.string(),
  c2s_packets: unsigned,
  c2s_bytes: unsigned,
  s2c_packets: unsigned,
  s2c_bytes: unsigned,
  first_seen: z.number().nonnegative(),
  last_seen: z.number().nonnegative(),
  /** nDPI flow-risk names as ndpi_risk2str() prints them. */
  risk: z.array(z.string()),
});
export type NdpiRecord = z.infer<typeof ndpiRecordSchema>;

const parseNdpiFields = fastSchema(ndpiRecordSchema);
const MAPPED_PATHS = pathTree(Object.keys(ndpiRecordSchema.shape).map((key) => [key]));

/** One `fos1-ndpi-sensor` line as a DpiEvent. Total: never throws. */
export function parseNdpiRecord(line: string): ParseResult {
  const json = parseJsonObject(line);
  if (!json.ok) return json;
  const parsed = parseNdpiFields(json.record);
  if (!parsed.success) return reject("invalid-field", describeIssue(parsed.error));
  const record = parsed.data;
  const protocol = normalizeProtocol(record.proto);
  if (protocol === undefined) return reject("invalid-field", `proto: not an IP protocol: ${record.proto}`);
  const serverName = normalizeServerName(record.host);

  return {
    ok: true,
    event: buildEvent({
      engine: "ndpi",
      kind: record.event === "classified" ? "classification" : "flow",
      sourceType: record.event,
      timestamp: { epochMs: record.ts * 1000, raw: numberText(line, "ts", record.ts) },
      flow: flowTuple({
        srcIp: record.src_ip,
        dstIp: record.dst_ip,
        srcPort: record.src_port,
        dstPort: record.dst_port,
        protocol,
        vlan: record.vlan === undefined ? undefined : [record.vlan],
        flowId: numberText(line, "flow_id", record.flow_id),
      }),
      application: engineApplication("ndpi", record.app, serverName, {
        category: record.category,
        confidence: record.confidence,
      }),
      risk: riskFromNdpiRisks(record.risk),
      riskFactors: record.risk,
      // Both lines carry nDPI's final verdict on the flow, even when it is Unknown.
      actionHint: "classify",
      serverName,
      counters: {
        c2sPackets: record.c2s_packets,
        c2sBytes: record.c2s_bytes,
        s2cPackets: record.s2c_packets,
        s2cBytes: record.s2c_bytes,
        firstSeenMs: record.first_seen * 1000,
        lastSeenMs: record.last_seen * 1000,
      },
      extra: omitPaths(json.record, MAPPED_PATHS),
    }),
  };
}
