import { ENGINES } from "../schema/dpi-sensor";
import { z } from "zod";
import { ipText, portNumber, unsigned } from "./wire-types";

/**
 * The common DPI event: what every sensor (Suricata, Zeek, nDPI, nProbe) says
 * about a flow, in one shape the agent's runtime decisions read. Parsers in this
 * folder turn one line of engine output into one DpiEvent; fields the parser
 * does not map are kept verbatim in `extra`, so nothing an engine said is lost.
 */

/** The engine that wrote the line: the same set a DpiSensor deploys. */
export const engineSchema = z.enum(ENGINES);

/**
 * What the event reports. `classification`: the engine named the flow's
 * application (nDPI's first verdict); `flow`: a flow record (Suricata flow,
 * Zeek conn, nDPI flow end, nProbe export); `anomaly`: protocol or decoder
 * violations (Suricata anomaly, Zeek weird/dpd); `notice`: Zeek notices;
 * `protocol`: any other application-layer transaction (ssh, smb, pgsql, ...).
 */
export const EVENT_KINDS = [
  "alert",
  "anomaly",
  "notice",
  "classification",
  "flow",
  "dns",
  "tls",
  "http",
  "file",
  "protocol",
] as const;
export const eventKindSchema = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof eventKindSchema>;

/**
 * What the event suggests the flow's verdict should become; the agent's policy
 * decides. `block`: the engine dropped or asks to drop; `inspect`: keep or return
 * the flow to the slow path (alerts, anomalies, notices); `classify`: the event
 * names the application; `observe`: informational (DNS, TLS, HTTP, flow records).
 */
export const ACTION_HINTS = ["block", "inspect", "classify", "observe"] as const;
export const actionHintSchema = z.enum(ACTION_HINTS);
export type ActionHint = z.infer<typeof actionHintSchema>;

export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

export const timestampSchema = z.object({
  /** Milliseconds since the Unix epoch; keeps the engine's sub-millisecond fraction. */
  epochMs: z.number(),
  /** The timestamp exactly as the engine wrote it. */
  raw: z.string(),
});
export type EventTimestamp = z.infer<typeof timestampSchema>;

/** IP protocols by their lower-case name; anything else is its decimal number as a string. */
export const flowProtocolSchema = z.string().regex(/^(tcp|udp|icmp|icmpv6|sctp|[0-9]{1,3})$/);

/**
 * The flow an event is about. `src` is the initiator in flow records and
 * classifications; in a Suricata alert it is the source of the packet that
 * matched, as Suricata reports it (the initiator is then in `extra.flow`).
 */
export const flowTupleSchema = z
  .object({
    srcIp: ipText,
    dstIp: ipText,
    /** Absent for protocols without ports (ICMP). */
    srcPort: portNumber.optional(),
    dstPort: portNumber.optional(),
    protocol: flowProtocolSchema,
    ipVersion: z.union([z.literal(4), z.literal(6)]),
    /** VLAN ids, outermost first (Suricata reports QinQ as two). */
    vlan: z.array(z.number().int().min(0).max(4095)).optional(),
    icmpType: z.number().int().min(0).max(255).optional(),
    icmpCode: z.number().int().min(0).max(255).optional(),
    /** The engine's own flow key (Suricata flow_id, Zeek uid, nDPI flow_id), as a string: u64 does not fit a JS number. */
    flowId: z.string().min(1).optional(),
    /** Community ID (`1:...`) where the engine computes one; joins events across engines. */
    communityId: z.string().optional(),
  })
  .refine(
    (f) =>
      !(f.protocol === "tcp" || f.protocol === "udp") || (f.srcPort !== undefined && f.dstPort !== undefined),
    {
      message: "tcp and udp flows need both ports",
      path: ["srcPort"],
    },
  );
export type FlowTuple = z.infer<typeof flowTupleSchema>;

export const applicationSchema = z.object({
  /** Catalog name (`youtube`) when the engine's name is in the catalog. */
  catalog: z.string().optional(),
  /** The engine's own name: nDPI `TLS.YouTube`, Suricata `tls`, Zeek `ssl`. */
  engineName: z.string().min(1),
  /** The engine's category for it, where it gives one (nDPI `Media`). */
  category: z.string().optional(),
  /** How the engine reached the verdict (nDPI `DPI`, `DPI (cache)`, `Match by port`). */
  confidence: z.string().optional(),
});
export type EventApplication = z.infer<typeof applicationSchema>;

export const signatureSchema = z.object({
  /** Suricata signature id; absent for engines that name rather than number (Zeek notes). */
  id: z.number().int().nonnegative().optional(),
  gid: z.number().int().nonnegative().optional(),
  rev: z.number().int().nonnegative().optional(),
  /** A stable label per detection: the signature message, Zeek note type, anomaly event name. */
  text: z.string().min(1),
  category: z.string().optional(),
});
export type EventSignature = z.infer<typeof signatureSchema>;

export const dnsAnswerSchema = z.object({
  /** Address for A/AAAA answers, name for CNAME/PTR, text otherwise. */
  data: z.string(),
  rrtype: z.string().optional(),
  /** Seconds the resolver may cache the answer. */
  ttl: z.number().nonnegative().optional(),
});
export type DnsAnswer = z.infer<typeof dnsAnswerSchema>;

export const dnsSchema = z.object({
  query: z.string().optional(),
  rrtype: z.string().optional(),
  rcode: z.string().optional(),
  answers: z.array(dnsAnswerSchema),
});
export type EventDns = z.infer<typeof dnsSchema>;

export const tlsSchema = z.object({
  version: z.string().optional(),
  ja3: z.string().optional(),
  ja3s: z.string().optional(),
  subject: z.string().optional(),
  issuer: z.string().optional(),
});

export const httpSchema = z.object({
  method: z.string().optional(),
  url: z.string().optional(),
  status: z.number().int().optional(),
  userAgent: z.string().optional(),
});

/** Packet/byte counts so far; c2s is from the flow's initiator (`flow.src*`). */
export const countersSchema = z.object({
  c2sPackets: unsigned.optional(),
  c2sBytes: unsigned.optional(),
  s2cPackets: unsigned.optional(),
  s2cBytes: unsigned.optional(),
  firstSeenMs: z.number().optional(),
  lastSeenMs: z.number().optional(),
});
export type FlowCounters = z.infer<typeof countersSchema>;

export const dpiEventSchema = z.object({
  engine: engineSchema,
  kind: eventKindSchema,
  /** The engine's own record type (`alert`, `pgsql`, `conn`, `weird`, `classified`). */
  sourceType: z.string().min(1),
  timestamp: timestampSchema,
  flow: flowTupleSchema,
  application: applicationSchema.optional(),
  /** 0 (nothing wrong) .. 100 (certain attack); see risk.ts for how each engine maps. */
  risk: z.number().min(0).max(100),
  severity: severitySchema,
  /** nDPI flow-risk names and similar engine risk labels behind `risk`. */
  riskFactors: z.array(z.string()).optional(),
  signature: signatureSchema.optional(),
  /** Human text beside the signature (Zeek notice msg, Suricata anomaly layer). */
  message: z.string().optional(),
  actionHint: actionHintSchema,
  /** The server name the flow asked for: TLS SNI, HTTP Host or DNS query; lower case, no trailing dot. */
  serverName: z.string().optional(),
  dns: dnsSchema.optional(),
  tls: tlsSchema.optional(),
  http: httpSchema.optional(),
  counters: countersSchema.optional(),
  /** Every field of the engine's record this model does not map, kept as the engine wrote it. */
  extra: z.record(z.string(), z.unknown()),
});
export type DpiEvent = z.infer<typeof dpiEventSchema>;
