import type { Drift, ApplyResult } from "../../sdk/agent-api/api";
import type { NodeProgram } from "../../sdk/compile/node-program";

/**
 * What a NodeProgram resource holds in state: where the program goes and the
 * compiled program itself, so `pulumi preview --diff` shows the classes,
 * rules and map entries that change. The node and the agent's owner name are
 * the program's own `metadata.node` and `metadata.name`, held once. No
 * credential is ever an input.
 */
export interface NodeProgramInputs {
  /** `https://host:port` of the node agent, from the site's `spec.nodes[].agent.url`. */
  readonly agentUrl: string;
  readonly program: NodeProgram;
}

/**
 * State after create/update/read: the inputs plus what the agent reported.
 * `program` is the program the agent holds, so its `hash` is the applied hash.
 */
export interface NodeProgramOutputs extends NodeProgramInputs {
  readonly appliedAt: string;
  /** Where the kernel differs from the program; empty when in sync. Set by `pulumi refresh`. */
  readonly drift: Drift[];
  /** Kernel writes the last apply made (zero when nothing had to change). */
  readonly writes?: ApplyResult["writes"];
}

/**
 * Where in the inputs a change means a different program on a different
 * agent: a replacement, never an update. The dotted form is what the engine
 * shows as the reason.
 */
export const REPLACE_ON_CHANGE = [
  ["agentUrl"],
  ["program", "metadata", "node"],
  ["program", "metadata", "name"],
] as const;
