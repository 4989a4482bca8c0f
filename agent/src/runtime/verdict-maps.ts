import type { RuntimeMaps } from "../bpf/runtime-maps";

/** The runtime map writers and readers the verdict pipeline uses; RuntimeMaps on a node. */
export type VerdictMaps = Pick<
  RuntimeMaps,
  | "addBlocks"
  | "removeBlocks"
  | "pruneExpiredBlocks"
  | "releaseBlockedFlows"
  | "blockEntries"
  | "classifyFlows"
  | "offloadFlows"
  | "returnToInspect"
  | "flowFacts"
  | "flowEntries"
  | "flowsByState"
  | "learnDestinations"
  | "forgetDestinations"
  | "pruneExpiredDestinations"
  | "counters"
  | "setLoadSampling"
>;

/** `fos1_block.reason`: why a block is in the maps, for reports. */
export const BLOCK_REASON = {
  /** An event's risk crossed the firewall policy's threshold on this node. */
  risk: 1,
  /** An application-control deny rule matched the flow's application. */
  "application-control": 2,
  /** Another node's block, received through etcd. */
  cluster: 3,
} as const;

export function blockReasonName(code: number): string {
  return Object.entries(BLOCK_REASON).find(([, c]) => c === code)?.[0] ?? String(code);
}
