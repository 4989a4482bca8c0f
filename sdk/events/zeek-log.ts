import { z } from "zod";
import { buildEvent, engineApplication } from "./build-event";
import type { ActionHint, EventKind } from "./dpi-event";
import { fastSchema } from "./fast-schema";
import { flowTuple, normalizeProtocol, normalizeServerName } from "./flow-tuple";
import {
  numberText,
  omitPaths,
  parseJsonObject,
  pathTree,
  type JsonRecord,
  type PathTree,
} from "./json-line";
import { describeIssue, reject, type ParseResult } from "./parse-result";
import { riskFromZeekNotice, ZEEK_DPD_RISK, ZEEK_WEIRD_RISK } from "./risk";
import { eventTimestamp } from "./timestamp";
import { ipText, portNumber, unsigned } from "./wire-types";

const optionalText = z.string().optional();

// Every Zeek log that is about a connection carries its id; the model reads
// these fields from any log. Schemas strip what they do not name: `extra` is
// built from the raw record.
const zeekBase = z.object({
  ts: z.union([z.number(), z.string()]),
  _path: optionalText,
  uid: optionalText,
  "id.orig_h": ipText.optional(),
  "id.orig_p": portNumber.optional(),
  "id.resp_h": ipText.optional(),
  "id.resp_p": portNumber.optional(),
  proto: optionalText,
  community_id: optionalText,
  vlan: z.number().int().min(0).max(4095).optional(),
  inner_vlan: z.number().int().min(0).max(4095).optional(),
});

// The fields each log the model understands defines; the same name may mean
// something else in another log (`service` is a list in known_services).
const LOG_FIELDS = {
  conn: z.object({
    service: optionalText,
    duration: z.number().nonnegative().optional(),
    orig_pkts: unsigned.optional(),
    resp_pkts: unsigned.optional(),
    orig_ip_bytes: unsigned.optional(),
    resp_ip_bytes: unsigned.optional(),
  }),
  dns: z.object({
    query: optionalText,
    qtype_name: optionalText,
    rcode_name: optionalText,
    answers: z.array(z.string()).optional(),
    TTLs: z.array(z.number().nonnegative()).optional(),
  }),
  ssl: z.object({
    server_name: optionalText,
    version: optionalText,
    ja3: optionalText,
    ja3s: optionalText,
    subject: optionalText,
    issuer: optionalText,
  }),
  http: z.object({
    host: optionalText,
    method: optionalText,
    uri: optionalText,
    status_code: z.number().int().optional(),
    user_agent: optionalText,
  }),
  notice: z.object({ note: optionalText, msg: optionalText }),
  weird: z.object({ name: optionalText, source: optionalText }),
  dpd: z.object({ analyzer: optionalText, failure_reason: optionalText }),
};
const parseZeekBase = fastSchema(zeekBase);
const PARSE_LOG_FIELDS: ReadonlyMap<string, ReturnType<typeof fastSchema>> = new Map(
  Object.entries(LOG_FIELDS).map(([log, schema]) => [log, fastSchema(schema)]),
);
// Fields mapped into the event, per log; everything else stays in `extra`.
const BASE_PATHS = pathTree(Object.keys(zeekBase.shape).map((f) => [f]));
const MAPPED_PATHS_BY_LOG: ReadonlyMap<string, PathTree> = new Map(
  Object.entries(LOG_FIELDS).map(([log, schema]) => [
    log,
    pathTree([...Object.keys(zeekBase.shape), ...Object.keys(schema.shape)].map((f) => [f])),
  ]),
);

/** A line's connection fields with the fields of the one log it belongs to. */
type ZeekRecord = z.infer<typeof zeekBase> &
  Partial<
    z.infer<typeof LOG_FIELDS.conn> &
      z.infer<typeof LOG_FIELDS.dns> &
      z.infer<typeof LOG_FIELDS.ssl> &
      z.infer<typeof LOG_FIELDS.http> &
      z.infer<typeof LOG_FIELDS.notice> &
      z.infer<typeof LOG_FIELDS.weird> &
      z.infer<typeof LOG_FIELDS.dpd>
  >;

const KIND_BY_LOG: Readonly<Record<string, EventKind>> = {
  conn: "flow",
  dns: "dns",
  ssl: "tls",
  http: "http",
  notice: "notice",
  weird: "anomaly",
  dpd: "anomaly",
  files: "file",
};
// Logs that are about something other than one analyzer's transactions.
const NON_PROTOCOL_LOGS = new Set([
  "conn",
  "notice",
  "weird",
  "dpd",
  "files",
  "x509",
  "pe",
  "intel",
  "signatures",
]);
// Zeek analyzers whose logs name no protocol field because they only run over
// one transport; also what weird.log's `source` names.
const TRANSPORT_BY_ANALYZER: Readonly<Record<string, "tcp" | "udp">> = {
  tcp: "tcp",
  contentline: "tcp",
  ssl: "tcp",
  http: "tcp",
  ftp: "tcp",
  smtp: "tcp",
  ssh: "tcp",
  rdp: "tcp",
  rfb: "tcp",
  smb: "tcp",
  smb_mapping: "tcp",
  smb_files: "tcp",
  dce_rpc: "tcp",
  ntlm: "tcp",
  modbus: "tcp",
  mysql: "tcp",
  socks: "tcp",
  irc: "tcp",
  pop3: "tcp",
  imap: "tcp",
  udp: "udp",
  ntp: "udp",
  snmp: "udp",
  dhcp: "udp",
  radius: "udp",
  sip: "udp",
};
// Log names whose analyzer Zeek's service field spells differently.
const SERVICE_BY_LOG: Readonly<Record<string, string>> = { smb_mapping: "smb", smb_files: "smb" };

/**
 * One line of a Zeek JSON log as a DpiEvent. `logType` (`conn`, `dns`, ...) is
 * the log the line came from; without it the line's `_path` is used, then the
 * fields that identify Zeek's main logs. Total: never throws.
 */
export function parseZeekLog(line: string, logType?: string): ParseResult {
  const json = parseJsonObject(line);
  if (!json.ok) return json;
  const base = parseZeekBase(json.record);
  if (!base.success) return reject("invalid-field", describeIssue(base.error));
  const log = logType ?? base.data._path ?? inferLogType(json.record);
  const own = PARSE_LOG_FIELDS.get(log)?.(json.record);
  if (own && !own.success) return reject("invalid-field", describeIssue(own.error));
  const zeek: ZeekRecord = { ...base.data, ...(own?.data as object | undefined) };

  const raw = typeof zeek.ts === "number" ? numberText(line, "ts", zeek.ts) : zeek.ts;
  const timestamp = eventTimestamp(zeek.ts, raw);
  if (timestamp === undefined)
    return reject("invalid-field", `ts: not Unix seconds or an ISO 8601 time: ${raw}`);
  const srcIp = zeek["id.orig_h"];
  const dstIp = zeek["id.resp_h"];
  if (srcIp === undefined || dstIp === undefined) {
    return reject("no-flow", `id.orig_h, id.resp_h: a ${log} record names no connection`);
  }
  const transport =
    zeek.proto ?? TRANSPORT_BY_ANALYZER[log] ?? TRANSPORT_BY_ANALYZER[zeek.source?.toLowerCase() ?? ""];
  if (transport === undefined)
    return reject("invalid-field", `proto: a ${log} record without proto does not say its transport`);
  const protocol = normalizeProtocol(transport);
  if (protocol === undefined) return reject("invalid-field", `proto: not an IP protocol: ${transport}`);
  if (
    (protocol === "tcp" || protocol === "udp") &&
    (zeek["id.orig_p"] === undefined || zeek["id.resp_p"] === undefined)
  ) {
    return reject(
      "invalid-field",
      `${zeek["id.orig_p"] === undefined ? "id.orig_p" : "id.resp_p"}: required for ${protocol}`,
    );
  }

  const kind = KIND_BY_LOG[log] ?? "protocol";
  const serverName = normalizeServerName(zeek.server_name ?? zeek.host ?? zeek.query);
  const service =
    log === "conn" ? zeek.service : NON_PROTOCOL_LOGS.has(log) ? undefined : (SERVICE_BY_LOG[log] ?? log);
  const { risk, actionHint } = judgement(log, zeek, service !== undefined);

  return {
    ok: true,
    event: buildEvent({
      engine: "zeek",
      kind,
      sourceType: log,
      timestamp,
      flow: flowTuple({
        srcIp,
        dstIp,
        srcPort: zeek["id.orig_p"],
        dstPort: zeek["id.resp_p"],
        protocol,
        // Zeek logs an ICMP conn's type and code in the port slots.
        icmpType: zeek["id.orig_p"],
        icmpCode: zeek["id.resp_p"],
        vlan: [zeek.vlan, zeek.inner_vlan].filter((v): v is number => v !== undefined),
        flowId: zeek.uid,
        communityId: zeek.community_id,
      }),
      application: service === undefined ? undefined : engineApplication("zeek", service, serverName),
      risk,
      signature: signature(log, zeek),
      message: log === "notice" ? zeek.msg : log === "dpd" ? zeek.failure_reason : undefined,
      actionHint,
      serverName,
      dns: log === "dns" ? dns(zeek) : undefined,
      tls:
        log === "ssl"
          ? {
              version: zeek.version,
              ja3: zeek.ja3,
              ja3s: zeek.ja3s,
              subject: zeek.subject,
              issuer: zeek.issuer,
            }
          : undefined,
      http:
        log === "http"
          ? { method: zeek.method, url: zeek.uri, status: zeek.status_code, userAgent: zeek.user_agent }
          : undefined,
      counters:
        log === "conn"
          ? {
              c2sPackets: zeek.orig_pkts,
              s2cPackets: zeek.resp_pkts,
              c2sBytes: zeek.orig_ip_bytes,
              s2cBytes: zeek.resp_ip_bytes,
              firstSeenMs: timestamp.epochMs,
              lastSeenMs: zeek.duration === undefined ? undefined : timestamp.epochMs + zeek.duration * 1000,
            }
          : undefined,
      extra: omitPaths(json.record, MAPPED_PATHS_BY_LOG.get(log) ?? BASE_PATHS),
    }),
  };
}

/** Which of Zeek's main logs a line without `_path` comes from, by the fields only that log has. */
function inferLogType(record: JsonRecord): string {
  if ("conn_state" in record) return "conn";
  if ("note" in record) return "notice";
  if ("qtype_name" in record || "trans_id" in record) return "dns";
  if ("ssl_history" in record || "server_name" in record || "resumed" in record) return "ssl";
  if ("trans_depth" in record && "status_code" in record) return "http";
  if ("analyzer" in record && "failure_reason" in record) return "dpd";
  if ("name" in record && "peer" in record) return "weird";
  return "unknown";
}

function judgement(log: string, zeek: ZeekRecord, named: boolean): { risk: number; actionHint: ActionHint } {
  if (log === "notice" && zeek.note) return { risk: riskFromZeekNotice(zeek.note), actionHint: "inspect" };
  if (log === "weird") return { risk: ZEEK_WEIRD_RISK, actionHint: "inspect" };
  if (log === "dpd") return { risk: ZEEK_DPD_RISK, actionHint: "inspect" };
  return { risk: 0, actionHint: log === "conn" && named ? "classify" : "observe" };
}

function signature(log: string, zeek: ZeekRecord) {
  if (log === "notice" && zeek.note) return { text: zeek.note, category: zeek.note.split("::")[0] };
  if (log === "weird" && zeek.name) return { text: zeek.name, category: zeek.source ?? "weird" };
  if (log === "dpd" && zeek.analyzer) return { text: zeek.analyzer, category: "dpd" };
  return undefined;
}

function dns(zeek: ZeekRecord) {
  // Zeek logs TTLs as a list parallel to answers.
  const answers = (zeek.answers ?? []).map((data, i) => ({ data, ttl: zeek.TTLs?.[i] }));
  return { query: zeek.query, rrtype: zeek.qtype_name, rcode: zeek.rcode_name, answers };
}
