import { z } from "zod";

/**
 * The agent's runtime state: what inspection has made of the flows the
 * programs saw. Runtime state is the agent's, never a program's drift.
 *
 *   GET /v1/runtime/flows[?limit=N]  -> 200 RuntimeFlows   (503 without the eBPF data plane)
 *   GET /v1/runtime/blocks           -> 200 RuntimeBlocks
 *   GET /v1/runtime/status           -> 200 RuntimeStatus
 */
export const RUNTIME_FLOWS_DEFAULT_LIMIT = 10_000;
export const RUNTIME_FLOWS_MAX_LIMIT = 1_000_000;

const direction = z.object({ orig: z.number(), reply: z.number() });

/** One entry of the node's flow table, initiator first, annotated with the policy names the agent holds. */
export const runtimeFlow = z.object({
  srcIp: z.string(),
  dstIp: z.string(),
  srcPort: z.number(),
  dstPort: z.number(),
  /** IP protocol number. */
  protocol: z.number(),
  vlanId: z.number(),
  state: z.enum(["inspect", "offloaded", "blocked"]),
  /** 0 while inspection has not named the application. */
  appId: z.number(),
  app: z.string().nullable(),
  /** The class the classifier applies (the flow's own, else its application's); null: none. */
  class: z.string().nullable(),
  classId: z.number(),
  /** DSCP the classifier wrote last (0 also when it has not rewritten). */
  dscp: z.number(),
  /** Route mark chosen at the first packet, and its uplink (null: the main table). */
  mark: z.number(),
  uplink: z.string().nullable(),
  segmentId: z.number(),
  selected: z.boolean(),
  critical: z.boolean(),
  watched: z.boolean(),
  anomaly: z.boolean(),
  packets: direction,
  bytes: direction,
  /** Milliseconds since the first and the last packet. */
  ageMs: z.number(),
  idleMs: z.number(),
});
export type RuntimeFlow = z.infer<typeof runtimeFlow>;

export const runtimeFlows = z.object({
  flows: z.array(runtimeFlow),
  /** Entries in the table; more than `flows.length` when the limit cut the list. */
  total: z.number(),
});
export type RuntimeFlows = z.infer<typeof runtimeFlows>;

export const runtimeBlock = z.object({
  scope: z.enum(["source", "destination", "flow"]),
  /** The address, or the flow as `proto a:port <-> b:port`. */
  target: z.string(),
  /** Milliseconds left; null: never expires. */
  remainingMs: z.number().nullable(),
  reason: z.number(),
});
export type RuntimeBlock = z.infer<typeof runtimeBlock>;

export const runtimeBlocks = z.object({ blocks: z.array(runtimeBlock) });
export type RuntimeBlocks = z.infer<typeof runtimeBlocks>;

export const ingestSourceStatus = z.object({
  source: z.string(),
  engine: z.string(),
  lines: z.object({ parsed: z.number(), blank: z.number(), rejected: z.record(z.string(), z.number()) }),
  events: z.number(),
  batches: z.number(),
  sinkErrors: z.number(),
  restarts: z.number(),
  lastError: z.string().optional(),
});

export const runtimeStatus = z.object({
  /** False without the eBPF data plane: events are ingested and counted, nothing is enforced. */
  enforcing: z.boolean(),
  ingest: z.array(ingestSourceStatus),
  /** Decisions taken and applied since start, per kind (`block`, `classify`, `offload`, ...). */
  decisions: z.record(z.string(), z.number()),
  /** Decisions that found no flow entry to act on (the flow had ended, or ran on another node). */
  missedFlows: z.number(),
  /** Offloads waiting for their flow to reach the inspected-packets minimum. */
  pendingOffloads: z.number(),
  cluster: z
    .object({
      connected: z.boolean(),
      revision: z.number(),
      queued: z.number(),
      blocks: z.number(),
      destinations: z.number(),
    })
    .nullable(),
  /** The programs' counters (`packets`, `mirrored`, `fastpath`, ...), summed over CPUs. */
  counters: z.record(z.string(), z.number()),
});
export type RuntimeStatus = z.infer<typeof runtimeStatus>;
