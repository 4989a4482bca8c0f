import type { NodeProgram } from "../compile/node-program";
import { decide, flowRef, type Decision, type FlowRef } from "../decide/decisions";
import { appControlRule } from "../decide/app-control";
import { appName, classOf, nodePolicyFrom, type NodePolicy } from "../decide/node-policy";
import { AppDestinationCache, routeAtFirstPacket } from "../decide/route";
import type { DpiEvent } from "../events";
import { flowLabel, type FlowReport } from "./flow-report";

interface FlowState {
  readonly ref: FlowRef;
  readonly key: string;
  readonly startMs: number;
  uplink: string;
  app?: string;
  engineApp?: string;
  className?: string;
  dscp: number;
  offloadAfter?: number;
  pinned: boolean;
  blocked?: string;
  packets: number;
  bytes: number;
  reasons: string[];
}

/** Flow identity across events: engine flow id where there is one, else the unordered 5-tuple. */
function flowKey(event: DpiEvent): string {
  const f = flowRef(event);
  const a = `${f.srcIp}|${f.srcPort}`;
  const b = `${f.dstIp}|${f.dstPort}`;
  return `${event.engine}:${event.flow.flowId ?? `${f.protocol}|${a < b ? `${a}|${b}` : `${b}|${a}`}`}`;
}

function startOf(event: DpiEvent): number {
  return event.counters?.firstSeenMs ?? event.timestamp.epochMs;
}

/**
 * What the policies of one node decide for each flow of a capture, replayed
 * in time order: each flow's route is chosen at its first packet from what was
 * learned before it (as in the data plane), then every event's decisions are
 * applied. The same `decide` runs in the agent, so the lab and this agree.
 */
export function simulate(events: readonly DpiEvent[], programs: readonly NodeProgram[]): FlowReport[] {
  const policy = nodePolicyFrom(programs);
  const cache = new AppDestinationCache();
  const blocks: { target: Decision & { kind: "block" }; untilMs: number }[] = [];
  const flows = new Map<string, FlowState>();

  type Step = { atMs: number; order: number; event: DpiEvent; start: boolean };
  const steps: Step[] = [];
  const seen = new Set<string>();
  events.forEach((event, i) => {
    const key = flowKey(event);
    if (!seen.has(key)) {
      seen.add(key);
      steps.push({ atMs: startOf(event), order: i * 2, event, start: true });
    }
    steps.push({ atMs: event.timestamp.epochMs, order: i * 2 + 1, event, start: false });
  });
  steps.sort((a, b) => a.atMs - b.atMs || a.order - b.order);

  for (const step of steps) {
    const key = flowKey(step.event);
    if (step.start) {
      flows.set(key, startFlow(policy, cache, blocks, step.event, key));
      continue;
    }
    const flow = flows.get(key)!;
    observe(flow, step.event);
    for (const decision of decide(step.event, policy)) apply(decision, flow, cache, blocks, step.atMs);
  }
  return [...flows.values()]
    .sort((a, b) => a.startMs - b.startMs || a.key.localeCompare(b.key))
    .map((f) => report(policy, f));
}

function startFlow(
  policy: NodePolicy,
  cache: AppDestinationCache,
  blocks: { target: Decision & { kind: "block" }; untilMs: number }[],
  event: DpiEvent,
  key: string,
): FlowState {
  const ref = flowRef(event);
  const atMs = startOf(event);
  const route = routeAtFirstPacket(policy, cache, ref.srcIp, ref.dstIp, atMs);
  const reasons = [
    route.uplink
      ? `route ${route.uplink} at first packet${route.appId ? " (destination learned)" : ""}`
      : "route main table",
  ];
  const flow: FlowState = {
    ref,
    key,
    startMs: atMs,
    uplink: route.uplink ?? "main",
    dscp: classOf(policy, undefined)?.dscp ?? 0,
    pinned: false,
    packets: 0,
    bytes: 0,
    reasons,
  };
  const block = blocks.find((b) => b.untilMs > atMs && covers(b.target, ref));
  if (block) flow.blocked = block.target.reason;
  // The kernel's deny map: an application the destination cache names is controlled from the first packet.
  const denied =
    route.appId === undefined ? undefined : appControlRule(policy.firewall, route.segmentId, route.appId);
  if (denied?.action === "deny")
    flow.blocked ??= `application control ${denied.rule} at first packet: ${appName(route.appId!)}`;
  return flow;
}

function observe(flow: FlowState, event: DpiEvent): void {
  const c = event.counters;
  if (c) {
    flow.packets = Math.max(flow.packets, (c.c2sPackets ?? 0) + (c.s2cPackets ?? 0));
    flow.bytes = Math.max(flow.bytes, (c.c2sBytes ?? 0) + (c.s2cBytes ?? 0));
  }
  if (event.application && !flow.engineApp) flow.engineApp = event.application.engineName;
}

function covers(block: Decision & { kind: "block" }, f: FlowRef): boolean {
  const t = block.target;
  if (t.scope === "source") return f.srcIp === t.address || f.dstIp === t.address;
  if (t.scope === "destination") return f.dstIp === t.address || f.srcIp === t.address;
  return (
    flowLabel(t.flow) === flowLabel(f) ||
    flowLabel({
      ...t.flow,
      srcIp: t.flow.dstIp,
      srcPort: t.flow.dstPort,
      dstIp: t.flow.srcIp,
      dstPort: t.flow.srcPort,
    }) === flowLabel(f)
  );
}

function apply(
  decision: Decision,
  flow: FlowState,
  cache: AppDestinationCache,
  blocks: { target: Decision & { kind: "block" }; untilMs: number }[],
  atMs: number,
): void {
  switch (decision.kind) {
    case "classify":
      if (flow.app === undefined)
        flow.reasons.push(`classified ${decision.app} -> class ${decision.class.name}`);
      flow.app = decision.app;
      flow.className = decision.class.name;
      flow.dscp = decision.class.dscp;
      break;
    case "learn-destination":
      cache.learn(decision.address, decision.appId, atMs, decision.ttlMs);
      break;
    case "offload":
      flow.offloadAfter ??= decision.notBeforePackets;
      break;
    case "inspect":
      flow.offloadAfter = undefined;
      flow.pinned ||= decision.pin;
      flow.reasons.push(`kept on slow path: ${decision.reason}`);
      break;
    case "block":
      blocks.push({ target: decision, untilMs: atMs + decision.ttlMs });
      if (covers(decision, flow.ref)) flow.blocked ??= decision.reason;
      break;
  }
}

function report(policy: NodePolicy, f: FlowState): FlowReport {
  const fast = !f.blocked && !f.pinned && f.offloadAfter !== undefined && f.packets >= f.offloadAfter;
  const reasons = [...f.reasons];
  if (f.offloadAfter !== undefined && !f.pinned) {
    reasons.push(
      fast
        ? `offloaded after ${f.offloadAfter} inspected packets`
        : `offload allowed after ${f.offloadAfter} packets; flow had ${f.packets}`,
    );
  }
  if (f.blocked) reasons.push(`blocked: ${f.blocked}`);
  return {
    flow: flowLabel(f.ref),
    ...f.ref,
    app: f.app ?? f.engineApp ?? "unknown",
    engineApp: f.engineApp ?? "Unknown",
    class: f.className ?? policy.defaultClass?.name ?? "none",
    dscp: f.dscp,
    uplink: f.uplink,
    path: fast ? "fast" : "slow",
    verdict: f.blocked ? "blocked" : "allowed",
    packets: f.packets,
    bytes: f.bytes,
    reasons,
  };
}
