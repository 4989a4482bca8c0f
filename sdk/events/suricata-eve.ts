import { z } from "zod";
import { buildEvent, engineApplication } from "./build-event";
import type { ActionHint, EventDns, EventKind } from "./dpi-event";
import { fastSchema } from "./fast-schema";
import { flowTuple, normalizeProtocol, normalizeServerName, prune } from "./flow-tuple";
import { numberText, omitPaths, parseJsonObject, pathTree } from "./json-line";
import { describeIssue, reject, type ParseResult } from "./parse-result";
import { ANOMALY_RISK, riskFromSuricataSeverity, SURICATA_DROP_RISK } from "./risk";
import { isoToEpochMs } from "./timestamp";
import { flowIdNumber, ipText, portNumber, unsigned } from "./wire-types";

const hashObject = z.object({ hash: z.string().optional() });

const dnsAnswer = z.object({
  rrname: z.string().optional(),
  rrtype: z.string().optional(),
  ttl: z.number().nonnegative().optional(),
  rdata: z.unknown().optional(),
});

// EVE's dns object in all three layouts: v1 (one answer per event), v2
// (`answers` list and/or `grouped` by type) and v3 (`queries` list).
const eveDns = z.object({
  type: z.string().optional(),
  rrname: z.string().optional(),
  rrtype: z.string().optional(),
  rcode: z.string().optional(),
  ttl: z.number().nonnegative().optional(),
  rdata: z.unknown().optional(),
  queries: z.array(z.object({ rrname: z.string().optional(), rrtype: z.string().optional() })).optional(),
  answers: z.array(dnsAnswer).optional(),
  grouped: z.record(z.string(), z.array(z.unknown())).optional(),
});

// Objects strip what they do not name: `extra` is built from the raw record.
const eveRecord = z.object({
  timestamp: z.string(),
  event_type: z.string().min(1),
  flow_id: flowIdNumber.optional(),
  src_ip: ipText.optional(),
  dest_ip: ipText.optional(),
  src_port: portNumber.optional(),
  dest_port: portNumber.optional(),
  proto: z.union([z.string(), unsigned]).optional(),
  vlan: z.array(z.number().int().min(0).max(4095)).optional(),
  icmp_type: z.number().int().min(0).max(255).optional(),
  icmp_code: z.number().int().min(0).max(255).optional(),
  community_id: z.string().optional(),
  app_proto: z.string().optional(),
  alert: z
    .looseObject({
      action: z.string().optional(),
      gid: unsigned.optional(),
      signature_id: unsigned,
      rev: unsigned.optional(),
      signature: z.string().min(1),
      category: z.string().optional(),
      severity: z.number().int().optional(),
    })
    .optional(),
  anomaly: z
    .looseObject({ type: z.string().optional(), event: z.string().optional(), layer: z.string().optional() })
    .optional(),
  dns: eveDns.optional(),
  tls: z
    .looseObject({
      sni: z.string().optional(),
      version: z.string().optional(),
      subject: z.string().optional(),
      issuerdn: z.string().optional(),
      ja3: hashObject.optional(),
      ja3s: hashObject.optional(),
    })
    .optional(),
  http: z
    .looseObject({
      hostname: z.string().optional(),
      url: z.string().optional(),
      http_method: z.string().optional(),
      // Suricata before 4.0 wrote the status as a string.
      status: z
        .union([
          z.number().int(),
          z
            .string()
            .regex(/^[0-9]{3}$/)
            .transform(Number),
        ])
        .optional(),
      http_user_agent: z.string().optional(),
    })
    .optional(),
  flow: z
    .looseObject({
      pkts_toserver: unsigned.optional(),
      pkts_toclient: unsigned.optional(),
      bytes_toserver: unsigned.optional(),
      bytes_toclient: unsigned.optional(),
      start: z.string().optional(),
      end: z.string().optional(),
    })
    .optional(),
});
type EveRecord = z.infer<typeof eveRecord>;
const parseEveRecord = fastSchema(eveRecord);

const KIND_BY_EVENT_TYPE: Readonly<Record<string, EventKind>> = {
  alert: "alert",
  drop: "alert",
  anomaly: "anomaly",
  flow: "flow",
  netflow: "flow",
  dns: "dns",
  tls: "tls",
  http: "http",
  http2: "http",
  fileinfo: "file",
};
// Event types that are not named after the app-layer protocol they carry.
const NON_PROTOCOL_EVENT_TYPES = new Set([
  "alert",
  "drop",
  "anomaly",
  "flow",
  "netflow",
  "fileinfo",
  "packet",
  "frame",
]);
// app_proto values that mean "no protocol recognised".
const NO_APP_PROTO = new Set(["failed", "unknown", ""]);

// Fields mapped into the event; everything else stays in `extra`.
const MAPPED_PATH_LIST: readonly (readonly string[])[] = [
  ["timestamp"],
  ["event_type"],
  ["flow_id"],
  ["src_ip"],
  ["dest_ip"],
  ["src_port"],
  ["dest_port"],
  ["proto"],
  ["vlan"],
  ["icmp_type"],
  ["icmp_code"],
  ["community_id"],
  ["app_proto"],
  ...["action", "gid", "signature_id", "rev", "signature", "category", "severity"].map((f) => ["alert", f]),
  ["anomaly", "type"],
  ["anomaly", "event"],
  ...["type", "rrname", "rrtype", "rcode", "ttl", "rdata", "queries"].map((f) => ["dns", f]),
  ...["sni", "version", "subject", "issuerdn", "ja3", "ja3s"].map((f) => ["tls", f]),
  ...["hostname", "url", "http_method", "status", "http_user_agent"].map((f) => ["http", f]),
  ...["pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient", "start", "end"].map((f) => [
    "flow",
    f,
  ]),
];
const MAPPED_PATHS = pathTree(MAPPED_PATH_LIST);
// A DNS answer list is mapped whole only when every answer could be read.
const MAPPED_PATHS_WITH_DNS_ANSWERS = pathTree([...MAPPED_PATH_LIST, ["dns", "answers"], ["dns", "grouped"]]);

/** One line of Suricata's EVE JSON output as a DpiEvent. Total: never throws. */
export function parseSuricataEve(line: string): ParseResult {
  const json = parseJsonObject(line);
  if (!json.ok) return json;
  const parsed = parseEveRecord(json.record);
  if (!parsed.success) return reject("invalid-field", describeIssue(parsed.error));
  const eve = parsed.data;

  const epochMs = isoToEpochMs(eve.timestamp);
  if (epochMs === undefined)
    return reject("invalid-field", `timestamp: not an ISO 8601 time: ${eve.timestamp}`);
  if (eve.src_ip === undefined || eve.dest_ip === undefined) {
    return reject("no-flow", `src_ip, dest_ip: a ${eve.event_type} event names no flow`);
  }
  if (eve.proto === undefined) return reject("invalid-field", "proto: required with src_ip and dest_ip");
  const protocol = normalizeProtocol(eve.proto);
  if (protocol === undefined) return reject("invalid-field", `proto: not an IP protocol: ${eve.proto}`);
  if (
    (protocol === "tcp" || protocol === "udp") &&
    (eve.src_port === undefined || eve.dest_port === undefined)
  ) {
    return reject(
      "invalid-field",
      `${eve.src_port === undefined ? "src_port" : "dest_port"}: required for ${protocol}`,
    );
  }
  const start = eve.flow?.start === undefined ? undefined : isoToEpochMs(eve.flow.start);
  const end = eve.flow?.end === undefined ? undefined : isoToEpochMs(eve.flow.end);
  if (eve.flow?.start !== undefined && start === undefined)
    return reject("invalid-field", "flow.start: not an ISO 8601 time");
  if (eve.flow?.end !== undefined && end === undefined)
    return reject("invalid-field", "flow.end: not an ISO 8601 time");

  const dns = eve.dns && eveDnsToEvent(eve.dns);
  const kind = KIND_BY_EVENT_TYPE[eve.event_type] ?? "protocol";
  const appName = applicationName(eve);
  const { risk, actionHint } = judgement(eve, kind, appName !== undefined);
  const serverName = normalizeServerName(eve.tls?.sni ?? eve.http?.hostname ?? dns?.dns.query);
  const unmapped = dns && !dns.allAnswersMapped ? MAPPED_PATHS : MAPPED_PATHS_WITH_DNS_ANSWERS;

  return {
    ok: true,
    event: buildEvent({
      engine: "suricata",
      kind,
      sourceType: eve.event_type,
      timestamp: { epochMs, raw: eve.timestamp },
      flow: flowTuple({
        srcIp: eve.src_ip,
        dstIp: eve.dest_ip,
        srcPort: eve.src_port,
        dstPort: eve.dest_port,
        protocol,
        vlan: eve.vlan,
        icmpType: eve.icmp_type,
        icmpCode: eve.icmp_code,
        flowId: eve.flow_id === undefined ? undefined : numberText(line, "flow_id", eve.flow_id),
        communityId: eve.community_id,
      }),
      application: appName === undefined ? undefined : engineApplication("suricata", appName, serverName),
      risk,
      signature: signature(eve),
      actionHint,
      serverName,
      dns: dns?.dns,
      tls: eve.tls && {
        version: eve.tls.version,
        subject: eve.tls.subject,
        issuer: eve.tls.issuerdn,
        ja3: eve.tls.ja3?.hash,
        ja3s: eve.tls.ja3s?.hash,
      },
      http: eve.http && {
        method: eve.http.http_method,
        url: eve.http.url,
        status: eve.http.status,
        userAgent: eve.http.http_user_agent,
      },
      counters: eve.flow && {
        c2sPackets: eve.flow.pkts_toserver,
        s2cPackets: eve.flow.pkts_toclient,
        c2sBytes: eve.flow.bytes_toserver,
        s2cBytes: eve.flow.bytes_toclient,
        firstSeenMs: start,
        lastSeenMs: end,
      },
      extra: omitPaths(json.record, unmapped),
    }),
  };
}

function applicationName(eve: EveRecord): string | undefined {
  if (eve.app_proto !== undefined) return NO_APP_PROTO.has(eve.app_proto) ? undefined : eve.app_proto;
  return NON_PROTOCOL_EVENT_TYPES.has(eve.event_type) ? undefined : eve.event_type;
}

function judgement(
  eve: EveRecord,
  kind: EventKind,
  named: boolean,
): { risk: number; actionHint: ActionHint } {
  if (eve.event_type === "drop") {
    return {
      risk: eve.alert ? riskFromSuricataSeverity(eve.alert.severity) : SURICATA_DROP_RISK,
      actionHint: "block",
    };
  }
  if (eve.alert) {
    // Suricata 7 writes `blocked`; older IPS builds wrote `drop`.
    const blocked = eve.alert.action === "blocked" || eve.alert.action === "drop";
    return { risk: riskFromSuricataSeverity(eve.alert.severity), actionHint: blocked ? "block" : "inspect" };
  }
  if (kind === "anomaly") return { risk: ANOMALY_RISK, actionHint: "inspect" };
  return { risk: 0, actionHint: kind === "flow" && named ? "classify" : "observe" };
}

function signature(eve: EveRecord) {
  if (eve.alert) {
    return {
      id: eve.alert.signature_id,
      gid: eve.alert.gid,
      rev: eve.alert.rev,
      text: eve.alert.signature,
      category: eve.alert.category,
    };
  }
  const anomalyName = eve.anomaly?.event ?? eve.anomaly?.type;
  if (anomalyName) return { text: anomalyName, category: eve.anomaly?.type };
  return undefined;
}

function eveDnsToEvent(dns: z.infer<typeof eveDns>): { dns: EventDns; allAnswersMapped: boolean } {
  const answers: EventDns["answers"] = [];
  let allAnswersMapped = true;
  for (const answer of dns.answers ?? []) {
    if (typeof answer.rdata === "string")
      answers.push({ data: answer.rdata, rrtype: answer.rrtype, ttl: answer.ttl });
    else allAnswersMapped = false;
  }
  // `grouped` repeats `answers` without TTLs when both are logged.
  if (dns.answers === undefined) {
    for (const [rrtype, values] of Object.entries(dns.grouped ?? {})) {
      for (const value of values) {
        if (typeof value === "string") answers.push({ data: value, rrtype });
        else allAnswersMapped = false;
      }
    }
  }
  if (dns.type === "answer" && typeof dns.rdata === "string") {
    answers.push({ data: dns.rdata, rrtype: dns.rrtype, ttl: dns.ttl });
  }
  const query = dns.queries?.[0];
  return {
    dns: {
      query: query?.rrname ?? dns.rrname,
      rrtype: query?.rrtype ?? (dns.type === "answer" && dns.answers === undefined ? undefined : dns.rrtype),
      rcode: dns.rcode,
      answers: answers.map(prune),
    },
    allAnswersMapped,
  };
}
