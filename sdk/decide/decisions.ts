import { applicationFromHost, lookupApplication } from "../apps";
import { dnsAddressAnswers, type DpiEvent } from "../events";
import { appControlRule } from "./app-control";
import { appName, classOf, offloadAllowed, type ClassInfo, type NodePolicy } from "./node-policy";

/** A flow as events name it: the initiator first. */
export interface FlowRef {
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly protocol: string;
}

export type BlockTarget =
  | { readonly scope: "source"; readonly address: string }
  | { readonly scope: "destination"; readonly address: string }
  | { readonly scope: "flow"; readonly flow: FlowRef };

/** What a node does because of one event. The agent turns these into map and set writes; `simulate` into a report. */
export type Decision =
  | {
      readonly kind: "classify";
      readonly flow: FlowRef;
      readonly appId: number;
      readonly app: string;
      readonly class: ClassInfo;
    }
  | {
      readonly kind: "block";
      readonly target: BlockTarget;
      readonly ttlMs: number;
      readonly reason: string;
      /** What called for it: an event's risk over the threshold, or an application-control deny rule. */
      readonly cause: "risk" | "application-control";
    }
  | {
      readonly kind: "offload";
      readonly flow: FlowRef;
      /** The application inspection named: the fast path checks its policy at every packet. */
      readonly appId: number;
      /** Only once the flow has been inspected for this many packets. */
      readonly notBeforePackets: number;
      readonly reinspectAfterMs: number;
      readonly sampleOneIn: number;
    }
  | { readonly kind: "inspect"; readonly flow: FlowRef; readonly reason: string; readonly pin: boolean }
  | {
      readonly kind: "learn-destination";
      readonly address: string;
      readonly appId: number;
      readonly app: string;
      readonly ttlMs: number;
      readonly source: "dns" | "classification";
    };

/** Applications that carry many services: a destination learned for them would route everything behind a CDN. */
const CARRIERS = new Set(["http", "https", "quic", "dns", "doh", "dtls"]);
/** How long a destination learned from a classification is trusted (a DNS answer brings its own TTL). */
export const LEARNED_DESTINATION_TTL_MS = 600_000;
const DNS_TTL_FLOOR_MS = 30_000;
const DNS_TTL_CEILING_MS = 86_400_000;

export function flowRef(event: DpiEvent): FlowRef {
  const f = event.flow;
  return {
    srcIp: f.srcIp,
    dstIp: f.dstIp,
    srcPort: f.srcPort ?? 0,
    dstPort: f.dstPort ?? 0,
    protocol: f.protocol,
  };
}

function catalogAppId(event: DpiEvent): number | undefined {
  const name = event.application?.catalog;
  return name === undefined ? undefined : lookupApplication(name)?.id;
}

/** A verdict the engine reached by looking at payload, not by guessing from a port or an address list. */
function inspected(event: DpiEvent): boolean {
  const confidence = event.application?.confidence;
  return confidence === undefined || /^DPI/.test(confidence);
}

function watchedDomain(policy: NodePolicy, serverName: string | undefined): boolean {
  if (!serverName || !policy.fastPath) return false;
  return policy.fastPath.watchDomains.some((d) =>
    d.startsWith("*.") ? serverName.endsWith(d.slice(1)) : serverName === d || serverName.endsWith(`.${d}`),
  );
}

/**
 * The decisions one event calls for under a node's policy. Pure: the same
 * event and policy always give the same decisions, in the same order
 * (blocks first, so enforcement never waits on anything else).
 */
export function decide(event: DpiEvent, policy: NodePolicy): Decision[] {
  const flow = flowRef(event);
  const out: Decision[] = [];
  const firewall = policy.firewall;

  if (firewall && event.risk >= firewall.riskThreshold) {
    const target: BlockTarget =
      firewall.blockScope === "flow"
        ? { scope: "flow", flow }
        : { scope: firewall.blockScope, address: firewall.blockScope === "source" ? flow.srcIp : flow.dstIp };
    const what = event.signature?.text ?? event.riskFactors?.join(", ") ?? event.kind;
    out.push({
      kind: "block",
      target,
      ttlMs: firewall.blockTtlMs,
      reason: `${event.engine} risk ${event.risk}: ${what}`,
      cause: "risk",
    });
    return out;
  }

  if (watchedDomain(policy, event.serverName)) {
    out.push({ kind: "inspect", flow, reason: `watch-listed domain ${event.serverName}`, pin: true });
  } else if (event.actionHint === "inspect") {
    out.push({
      kind: "inspect",
      flow,
      reason: `${event.engine} ${event.kind}: ${event.signature?.text ?? event.sourceType}`,
      pin: false,
    });
  }

  if (event.kind === "dns") {
    const app = event.dns?.query ? applicationFromHost(event.dns.query) : undefined;
    if (app && !CARRIERS.has(app.name)) {
      for (const answer of dnsAddressAnswers(event)) {
        const ttlMs = Math.min(DNS_TTL_CEILING_MS, Math.max(DNS_TTL_FLOOR_MS, (answer.ttl ?? 0) * 1000));
        out.push({
          kind: "learn-destination",
          address: answer.address,
          appId: app.id,
          app: app.name,
          ttlMs,
          source: "dns",
        });
      }
    }
  }

  const appId = catalogAppId(event);
  if (appId === undefined || !(event.kind === "classification" || event.kind === "flow")) return out;
  const app = appName(appId);
  const cls = classOf(policy, appId);
  if (cls) out.push({ kind: "classify", flow, appId, app, class: cls });
  if (inspected(event) && !CARRIERS.has(app)) {
    out.push({
      kind: "learn-destination",
      address: flow.dstIp,
      appId,
      app,
      ttlMs: LEARNED_DESTINATION_TTL_MS,
      source: "classification",
    });
  }

  const control = appControlRule(firewall, policy.segments.lookup(flow.srcIp), appId);
  if (firewall && control?.action === "deny") {
    out.push({
      kind: "block",
      target: { scope: "flow", flow },
      ttlMs: firewall.blockTtlMs,
      reason: `application control ${control.rule}: ${app}`,
      cause: "application-control",
    });
    return out;
  }

  const rule = policy.fastPath?.offload.find((r) => r.apps.some((a) => a.appId === appId));
  const pinned = out.some((d) => d.kind === "inspect" && d.pin);
  const sensitive =
    policy.critical.lookup(flow.srcIp) ??
    policy.critical.lookup(flow.dstIp) ??
    policy.watch.lookup(flow.srcIp) ??
    policy.watch.lookup(flow.dstIp);
  if (
    rule &&
    offloadAllowed(policy, appId) &&
    inspected(event) &&
    !pinned &&
    sensitive === undefined &&
    event.actionHint !== "inspect"
  ) {
    out.push({
      kind: "offload",
      flow,
      appId,
      notBeforePackets: rule.minInspectedPackets,
      reinspectAfterMs: policy.reinspectAfterMs,
      sampleOneIn: policy.sampleOneIn,
    });
  }
  return out;
}
