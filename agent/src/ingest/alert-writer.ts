import type { DpiEvent, EventKind } from "../../../sdk/events";
import type { Decision } from "../../../sdk/decide";

/** The kinds of event that are alerts for log pipelines; flow records and DNS answers are not. */
const ALERT_KINDS: ReadonlySet<EventKind> = new Set(["alert", "anomaly", "notice"]);

/**
 * One alert as a flat JSON object with snake_case keys, the shape log
 * pipelines (Loki, Elastic, Splunk) index without parsing rules: when, who
 * said it, the flow, the signature and what the agent did about it.
 */
export function alertRecord(event: DpiEvent, decisions: readonly Decision[] = []): Record<string, unknown> {
  const record: Record<string, unknown> = {
    time: new Date(event.timestamp.epochMs).toISOString(),
    type: "dpi-alert",
    engine: event.engine,
    kind: event.kind,
    source_type: event.sourceType,
    severity: event.severity,
    risk: event.risk,
    src_ip: event.flow.srcIp,
    src_port: event.flow.srcPort,
    dest_ip: event.flow.dstIp,
    dest_port: event.flow.dstPort,
    proto: event.flow.protocol,
    flow_id: event.flow.flowId,
    community_id: event.flow.communityId,
    signature_id: event.signature?.id,
    signature: event.signature?.text,
    category: event.signature?.category,
    message: event.message,
    application: event.application?.catalog ?? event.application?.engineName,
    server_name: event.serverName,
    action_hint: event.actionHint,
    verdicts: [...new Set(decisions.map((d) => d.kind))],
  };
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record;
}

/**
 * Writes alerts as JSON lines (to stdout unless told otherwise) and skips
 * every other event; returns whether it wrote one.
 */
export function alertLineWriter(
  write: (line: string) => void = (line) => process.stdout.write(line),
): (event: DpiEvent, decisions?: readonly Decision[]) => boolean {
  return (event, decisions = []) => {
    if (!ALERT_KINDS.has(event.kind)) return false;
    write(`${JSON.stringify(alertRecord(event, decisions))}\n`);
    return true;
  };
}
