import { z } from "zod";
import { nodeProgram } from "../compile/node-program";

/**
 * The node agent's HTTPS API, shared by the agent (server), the CLI and the
 * Pulumi dynamic providers (clients). Every request but the probes carries
 * `Authorization: Bearer <token>`; anything else is 401 with no side effect.
 *
 *   PUT    /v1/programs/:name  body NodeProgram     -> 200 ApplyResult | 400 | 409 | 413 | 415 | 422 | 500
 *   GET    /v1/programs/:name                       -> 200 ProgramState | 404
 *   DELETE /v1/programs/:name                       -> 200 ApplyResult | 404
 *   GET    /v1/programs                             -> 200 ProgramList
 *   GET    /v1/version                              -> 200 VersionInfo
 *   GET    /metrics                                 -> Prometheus text
 *   GET    /healthz, /readyz  (no token)            -> 200 Health | 503
 *
 * 400: the body is not a valid NodeProgram, its hash does not match, or it does
 * not fit the node (node name, interfaces, rates over the uplink); 409: it
 * claims what another program owns; 413/415: too large, not JSON; 422: it needs
 * a subsystem this agent does not program (yet); 500: a subsystem failed and
 * the previous state was restored; 503 on the program routes: the agent is
 * still re-applying its stored programs after a start. Errors are ApiError.
 */
export const AGENT_API_PREFIX = "/v1";

/** An error body: what was wrong, where (paths as in `spec.maps.fos1_qos_classes[0].value`). */
export const apiError = z.object({
  error: z.string(),
  problems: z.array(z.object({ path: z.string(), message: z.string() })).default([]),
});
export type ApiError = z.infer<typeof apiError>;

/** What applying (or deleting) a program did to the kernel. A repeated PUT reports zero writes. */
export const applyResult = z.object({
  name: z.string(),
  hash: z.string(),
  /** Kernel writes by subsystem: map entries written/deleted, nft transactions, tc/ip commands. */
  writes: z.object({ maps: z.number(), nftables: z.number(), tc: z.number(), ip: z.number() }),
  durationMs: z.number(),
});
export type ApplyResult = z.infer<typeof applyResult>;

/** One difference between what a program asks and what the kernel holds. */
export const drift = z.object({
  /** Where, in NodeProgram terms: `spec.tc[0].classes[2].ceilBps`, `spec.maps.fos1_app_policy[app_id=7]`. */
  path: z.string(),
  expected: z.unknown(),
  actual: z.unknown(),
});
export type Drift = z.infer<typeof drift>;

/** A program as stored, and the kernel state it owns as read back now. */
export const programState = z.object({
  program: nodeProgram,
  appliedAt: z.string(),
  /** Empty when the kernel holds exactly what the program asks. */
  drift: z.array(drift),
});
export type ProgramState = z.infer<typeof programState>;

export const programList = z.object({
  programs: z.array(
    z.object({
      name: z.string(),
      hash: z.string(),
      source: z.object({ kind: z.string(), name: z.string() }),
    }),
  ),
});
export type ProgramList = z.infer<typeof programList>;

export const versionInfo = z.object({ version: z.string(), api: z.literal("v1"), node: z.string() });
export type VersionInfo = z.infer<typeof versionInfo>;

export const health = z.object({
  ok: z.boolean(),
  programs: z.number(),
  lastReconcile: z.string().optional(),
});
export type Health = z.infer<typeof health>;
