import * as pulumi from "@pulumi/pulumi";
import type { Drift } from "../../sdk/agent-api/api";
import type { NodeProgram } from "../../sdk/compile/node-program";
import { nodeProgramProvider } from "./node-program-provider";

export interface NodeProgramResourceArgs {
  /** `https://host:port` of the node agent. */
  readonly agentUrl: pulumi.Input<string>;
  /**
   * The compiled program (`compileProgram`). Its `metadata.node` and
   * `metadata.name` say which node and which of the agent's programs it is:
   * a change of either, or of the agent, replaces the resource.
   */
  readonly program: pulumi.Input<NodeProgram>;
}

/**
 * One compiled policy on one node agent, shown by Pulumi as
 * `pulumi-nodejs:dynamic/fos1:NodeProgram`. Its inputs are the compiled
 * program, so a preview diff names the classes, rules and map entries that
 * change. Each top-level property costs the Pulumi SDK a handful of promises
 * per resource, so the node and program name are read from the program, not
 * repeated beside it.
 */
export class NodeProgramResource extends pulumi.dynamic.Resource {
  /** The program the agent holds: its `hash` is the applied hash. */
  declare readonly program: pulumi.Output<NodeProgram>;
  declare readonly appliedAt: pulumi.Output<string>;
  declare readonly drift: pulumi.Output<Drift[]>;

  constructor(name: string, args: NodeProgramResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      nodeProgramProvider,
      name,
      { agentUrl: args.agentUrl, program: args.program, appliedAt: undefined, drift: undefined },
      opts,
      "fos1",
      "NodeProgram",
    );
  }
}
