import {
  FLOW_F_ANOMALY,
  FLOW_F_CRITICAL,
  FLOW_F_ORIG_A,
  FLOW_F_SELECTED,
  FLOW_F_WATCHED,
  FlowState,
} from "../../../sdk/abi/constants";
import type { FlowKey } from "../../../sdk/abi/codec";
import type { RuntimeBlocks, RuntimeFlow, RuntimeFlows, RuntimeStatus } from "../../../sdk/agent-api/runtime";
import { appName, type NodePolicy } from "../../../sdk/decide";
import { monotonicNs } from "../bpf/runtime-maps";
import type { VerdictMaps } from "./verdict-maps";

const STATE_NAMES: Record<number, RuntimeFlow["state"]> = {
  [FlowState.INSPECT]: "inspect",
  [FlowState.OFFLOADED]: "offloaded",
  [FlowState.BLOCKED]: "blocked",
};

const NS_PER_MS = 1_000_000n;

function flowText(k: FlowKey): string {
  return `${k.proto} ${k.addrA}:${k.portA} <-> ${k.addrB}:${k.portB}${k.vlanId ? ` vlan ${k.vlanId}` : ""}`;
}

/** Answers the API's runtime routes from the maps, named with the policy the node holds. */
export class RuntimeView {
  constructor(
    private readonly options: {
      readonly maps?: VerdictMaps;
      readonly policy: () => NodePolicy;
      readonly status: () => RuntimeStatus;
    },
  ) {}

  get available(): boolean {
    return this.options.maps !== undefined;
  }

  flows(limit: number): RuntimeFlows {
    const maps = this.options.maps;
    if (!maps) return { flows: [], total: 0 };
    const policy = this.options.policy();
    const now = monotonicNs();
    const { entries, total } = maps.flowEntries(limit);
    const flows = entries.map(({ key, flow }): RuntimeFlow => {
      // The key is normalised; the flags say which end spoke first.
      const origA = (flow.flags & FLOW_F_ORIG_A) !== 0;
      const named = flow.classId || (flow.appId ? (policy.appClass.get(flow.appId) ?? 0) : 0);
      // What the egress classifier applies: the named class, else the default class where there is one.
      const cls = named ? policy.classes.get(named) : policy.defaultClass;
      const classId = cls?.classId ?? 0;
      const dir = (pair: readonly bigint[]) => ({ orig: Number(pair[0]), reply: Number(pair[1]) });
      return {
        srcIp: origA ? key.addrA : key.addrB,
        dstIp: origA ? key.addrB : key.addrA,
        srcPort: origA ? key.portA : key.portB,
        dstPort: origA ? key.portB : key.portA,
        protocol: key.proto,
        vlanId: key.vlanId,
        state: STATE_NAMES[flow.state] ?? "inspect",
        appId: flow.appId,
        app: flow.appId ? appName(flow.appId) : null,
        class: cls?.name ?? null,
        classId,
        dscp: flow.dscp,
        mark: flow.mark,
        uplink: policy.uplinkByMark.get(flow.mark) ?? null,
        segmentId: flow.segmentId,
        selected: (flow.flags & FLOW_F_SELECTED) !== 0,
        critical: (flow.flags & FLOW_F_CRITICAL) !== 0,
        watched: (flow.flags & FLOW_F_WATCHED) !== 0,
        anomaly: (flow.flags & FLOW_F_ANOMALY) !== 0,
        packets: dir(flow.packets),
        bytes: dir(flow.bytes),
        ageMs: Number((now - flow.firstSeenNs) / NS_PER_MS),
        idleMs: Number((now - flow.lastSeenNs) / NS_PER_MS),
      };
    });
    return { flows, total };
  }

  blocks(): RuntimeBlocks {
    const maps = this.options.maps;
    if (!maps) return { blocks: [] };
    const now = monotonicNs();
    return {
      blocks: maps
        .blockEntries()
        .filter((b) => b.expiresNs === 0n || b.expiresNs > now)
        .map((b) => ({
          scope: b.scope,
          target: typeof b.target === "string" ? b.target : flowText(b.target),
          remainingMs: b.expiresNs === 0n ? null : Number((b.expiresNs - now) / NS_PER_MS),
          reason: b.reason,
        })),
    };
  }

  status(): RuntimeStatus {
    return this.options.status();
  }
}
