import type { AgentClient, RuntimeFlow } from "../../sdk/agent-api";
import { summariseClasses, flowLabel, type FlowReport } from "../../sdk/simulate";
import { LIVE_SERVERS } from "./class-driver";
import type { LabState } from "./state";
import { readCapture, reverseLabel, type WireFlow } from "./wire";

/** One flow of the lab: the simulate columns, with DSCP and uplink as seen on the wire, and where it came from. */
export interface LabFlowReport extends FlowReport {
  /** The replayed capture, `live` for the class-rate traffic, null for anything else the lab saw. */
  readonly capture: string | null;
  /** The LAN host that sent it, and its pass in the replay (learn, routed, unselected, guest). */
  readonly host: string | null;
  readonly pass: string | null;
  /** The agent's flow-table view. */
  readonly state: RuntimeFlow["state"];
  readonly selected: boolean;
  readonly agentUplink: string;
  readonly agentDscp: number;
  /** The uplink namespace whose capture saw the flow, and the DSCP of its last upstream packet there. */
  readonly wireUplink: string | null;
  readonly wireDscp: number | null;
  readonly wireDscps: readonly number[];
  /** Packets of the flow (both directions) that reached the sensor's side of the mirror. */
  readonly mirrored: number;
}

/** A class on an uplink: its band, the rate measured in the class-rate run, and the flows the lab put in it. */
export interface LabClassReport {
  readonly class: string;
  readonly uplink: string;
  readonly minBps: number;
  readonly maxBps: number;
  readonly measuredBps: number;
  readonly aloneBps: number;
  readonly driver: string;
  /** The class's DSCP as the QoS policy sets it. */
  readonly dscp: number;
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
}

export interface LabReport {
  readonly flows: LabFlowReport[];
  readonly classes: LabClassReport[];
}

const PROTOCOLS: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6" };

function wireView(
  label: string,
  wire: ReadonlyMap<string, ReadonlyMap<string, WireFlow>>,
): { uplink: string; flow: WireFlow } | undefined {
  let best: { uplink: string; flow: WireFlow } | undefined;
  for (const [uplink, flows] of wire) {
    const f = flows.get(label);
    if (f && (!best || f.packets > best.flow.packets)) best = { uplink, flow: f };
  }
  return best;
}

/**
 * The lab's report: the agent's flow table (what inspection made of each
 * flow) joined with the wire captures of the uplink namespaces (where the
 * flow really went, with which DSCP) and of the mirror (whether the sensor
 * saw it), plus the class-rate run's measurements.
 */
export async function buildLabReport(state: LabState, client: AgentClient): Promise<LabReport> {
  const { flows: runtime } = await client.runtimeFlows(1_000_000);
  const wire = new Map<string, Map<string, WireFlow>>();
  for (const [uplink, w] of Object.entries(state.wire)) wire.set(uplink, await readCapture(w.file));
  const mirror = state.mirrorCapture ? await readCapture(state.mirrorCapture) : new Map<string, WireFlow>();
  const hostOf = new Map<string, string>();
  for (const [host, h] of Object.entries(state.hosts)) hostOf.set(h.address, host);
  const captureOf = new Map<string, string>();
  for (const c of state.captures)
    for (const f of c.flows) captureOf.set(`${f.protocol}|${f.srcPort}|${f.dstIp}|${f.dstPort}`, c.name);

  const flows: LabFlowReport[] = [];
  for (const f of runtime) {
    const host = hostOf.get(f.srcIp) ?? hostOf.get(f.dstIp);
    if (!host) continue;
    const protocol = PROTOCOLS[f.protocol] ?? String(f.protocol);
    const ref = { protocol, srcIp: f.srcIp, srcPort: f.srcPort, dstIp: f.dstIp, dstPort: f.dstPort };
    const label = flowLabel(ref);
    const seen = wireView(label, wire);
    const mirrored = (mirror.get(label)?.packets ?? 0) + (mirror.get(reverseLabel(label))?.packets ?? 0);
    const capture =
      captureOf.get(`${protocol}|${f.srcPort}|${f.dstIp}|${f.dstPort}`) ??
      (Object.values(LIVE_SERVERS).includes(f.dstIp as never) ? "live" : null);
    const agentUplink = f.uplink ?? "main";
    flows.push({
      flow: label,
      ...ref,
      app: f.app ?? "unknown",
      engineApp: f.app ?? "Unknown",
      class: f.class ?? "default",
      dscp: seen?.flow.dscp ?? f.dscp,
      uplink: seen?.uplink ?? agentUplink,
      path: f.state === "offloaded" ? "fast" : "slow",
      verdict: f.state === "blocked" ? "blocked" : "allowed",
      packets: f.packets.orig + f.packets.reply,
      bytes: f.bytes.orig + f.bytes.reply,
      reasons: [
        `agent: ${f.state}, route ${agentUplink}, DSCP ${f.dscp}`,
        seen
          ? `wire: ${seen.flow.packets} packets on ${seen.uplink}, DSCP ${seen.flow.dscps.join("/")}`
          : "wire: not seen on any uplink",
        `mirror: ${mirrored} packets`,
      ],
      capture,
      host,
      pass: state.passes[host] ?? null,
      state: f.state,
      selected: f.selected,
      agentUplink,
      agentDscp: f.dscp,
      wireUplink: seen?.uplink ?? null,
      wireDscp: seen?.flow.dscp ?? null,
      wireDscps: seen?.flow.dscps ?? [],
      mirrored,
    });
  }
  const order = Object.keys(state.passes);
  flows.sort(
    (a, b) =>
      order.indexOf(a.host ?? "") - order.indexOf(b.host ?? "") ||
      (a.capture ?? "~").localeCompare(b.capture ?? "~") ||
      a.flow.localeCompare(b.flow),
  );
  const summary = new Map(summariseClasses(flows).map((c) => [c.class, c]));
  const classes = state.rates.map((r) => {
    const s = summary.get(r.class);
    return {
      class: r.class,
      uplink: r.uplink,
      minBps: r.minBps,
      maxBps: r.maxBps,
      measuredBps: r.measuredBps,
      aloneBps: r.aloneBps,
      driver: r.driver,
      dscp: r.dscp,
      flows: s?.flows ?? 0,
      packets: s?.packets ?? 0,
      bytes: s?.bytes ?? 0,
    };
  });
  return { flows, classes };
}
