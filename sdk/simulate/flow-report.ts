/** One flow's row in a lab or simulation report. */
export interface FlowReport {
  readonly flow: string;
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
  readonly protocol: string;
  /** Catalog name, or the engine's name when the catalog has none. */
  readonly app: string;
  /** What the engine printed (`TLS.YouTube`). */
  readonly engineApp: string;
  readonly class: string;
  readonly dscp: number;
  /** Uplink the flow's first packet chose; `main` when no rule matched. */
  readonly uplink: string;
  readonly path: "fast" | "slow";
  readonly verdict: "allowed" | "blocked";
  readonly packets: number;
  readonly bytes: number;
  /** Why, in order: route, classification, offload, block. */
  readonly reasons: readonly string[];
}

/** `tcp 10.0.0.1:51000 -> 192.0.2.1:443` */
export function flowLabel(f: {
  protocol: string;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
}): string {
  const host = (ip: string) => (ip.includes(":") ? `[${ip}]` : ip);
  return `${f.protocol} ${host(f.srcIp)}:${f.srcPort} -> ${host(f.dstIp)}:${f.dstPort}`;
}
