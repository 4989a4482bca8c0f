import { z } from "zod";
import { API_VERSION } from "../../../sdk/schema/document";
import type { Problem } from "../../../sdk/schema/problem";

/** The policy kinds the controller programs: the custom resources the components' CRDs define. */
export const POLICY_KINDS = {
  QoSPolicy: { plural: "qospolicies" },
  RoutingPolicy: { plural: "routingpolicies" },
} as const;
export type PolicyKind = keyof typeof POLICY_KINDS;

/** Put on every resource whose programs the controller applied, so a deletion waits until they are removed. */
export const FINALIZER = "networking.fos1.io/node-programs";

/** Label value of resources a Pulumi stack created: their programs belong to its NodeProgram resources. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/**
 * A QoSPolicy or RoutingPolicy as the API server stores it. Only the envelope
 * is checked here; `spec` is validated by the policy schema, so its problems
 * carry the document's own paths.
 */
export const policyResource = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.enum(Object.keys(POLICY_KINDS) as [PolicyKind, ...PolicyKind[]]),
  metadata: z.object({
    name: z.string().min(1),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.unknown(),
  status: z.unknown().optional(),
});
export type PolicyResource = z.infer<typeof policyResource>;

/** What one node's agent holds of the resource's program. */
export interface NodeStatus {
  readonly node: string;
  readonly program: string;
  /** Hash of the program the agent holds; absent when it holds none. */
  readonly hash?: string;
  readonly appliedAt?: string;
  /** Kernel differences the agent reports (it repairs them on its own). */
  readonly drift?: number;
  /** Why the node does not hold the program. */
  readonly error?: string;
}

/** The `.status` the controller writes: `kubectl get qos` shows `applied`. */
export interface PolicyStatus {
  readonly observedGeneration?: number;
  /** `<nodes holding the compiled program>/<nodes of the site>`. */
  readonly applied: string;
  /** Why the spec was not applied, as `path: reason` with the document's paths; empty when valid. */
  readonly problems: readonly Problem[];
  readonly nodes: readonly NodeStatus[];
}

export function isManagedByPulumi(resource: PolicyResource): boolean {
  return resource.metadata.labels?.[MANAGED_BY_LABEL] === "pulumi";
}
