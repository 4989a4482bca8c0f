import type { NodePolicy } from "./node-policy";

/**
 * The application -> destination cache: what the agent learned from classified
 * flows and DNS answers, with expiry, so a new flow to a known service takes
 * its application's uplink from its first packet. The eBPF program reads the
 * same entries from `fos1_app_dest`.
 */
export class AppDestinationCache {
  private readonly entries = new Map<string, { appId: number; expiresMs: number }>();

  learn(address: string, appId: number, nowMs: number, ttlMs: number): void {
    this.entries.set(address, { appId, expiresMs: nowMs + ttlMs });
  }

  lookup(address: string, nowMs: number): number | undefined {
    const entry = this.entries.get(address);
    if (!entry) return undefined;
    if (entry.expiresMs <= nowMs) {
      this.entries.delete(address);
      return undefined;
    }
    return entry.appId;
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface RouteDecision {
  /** 0: no rule matched; the main table routes the flow. */
  readonly mark: number;
  /** The uplink's name, or undefined for the main table. */
  readonly uplink?: string;
  readonly segmentId: number;
  /** The application the destination cache named at the first packet, if any. */
  readonly appId?: number;
}

/**
 * The route a flow gets at its first packet, exactly as the eBPF program
 * decides it: segment of the source, application of the destination from the
 * cache, then (segment, app), (segment, any), (any, app), (any, any).
 */
export function routeAtFirstPacket(
  policy: NodePolicy,
  cache: AppDestinationCache,
  srcIp: string,
  dstIp: string,
  nowMs: number,
): RouteDecision {
  const segmentId = policy.segments.lookup(srcIp) ?? 0;
  const appId = cache.lookup(dstIp, nowMs);
  const app = appId ?? 0;
  const mark =
    [`${segmentId}/${app}`, `${segmentId}/0`, `0/${app}`, "0/0"]
      .map((k) => policy.routes.get(k))
      .find((m) => m !== undefined) ?? 0;
  return {
    mark,
    uplink: policy.uplinkByMark.get(mark),
    segmentId,
    ...(appId !== undefined ? { appId } : {}),
  };
}
