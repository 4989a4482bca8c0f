import type { Drift, ApplyResult } from "../../sdk/agent-api/api";
import type { NodeProgram } from "../../sdk/compile/node-program";

/**
 * What a NodeProgram resource holds in state: where the program goes and the
 * compiled program itself, so `pulumi preview --diff` shows the classes,
 * rules and map entries that change. No credential is ever an input.
 */
export interface NodeProgramInputs {
  /** `https://host:port` of the node agent, from the site's `spec.nodes[].agent.url`. */
  readonly agentUrl: string;
  /** Site node the program is for. */
  readonly node: string;
  /** The agent's unit of ownership (`qos-default-qos-policy`); equals `program.metadata.name`. */
  readonly programName: string;
  readonly program: NodeProgram;
}

/** State after create/update/read: the inputs plus what the agent reported. */
export interface NodeProgramOutputs extends NodeProgramInputs {
  /** Hash of the program the agent holds. */
  readonly hash: string;
  readonly appliedAt: string;
  /** Where the kernel differs from the program; empty when in sync. Set by `pulumi refresh`. */
  readonly drift: Drift[];
  /** Kernel writes the last apply made (zero when nothing had to change). */
  readonly writes?: ApplyResult["writes"];
}

/** Inputs whose change means a different program on a different agent: a replacement, never an update. */
export const REPLACE_ON_CHANGE = ["agentUrl", "node", "programName"] as const;
