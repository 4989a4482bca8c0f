import * as pulumi from "@pulumi/pulumi";
import type { Drift } from "../../sdk/agent-api/api";
import type { NodeProgram } from "../../sdk/compile/node-program";
import { nodeProgramProvider } from "./node-program-provider";

export interface NodeProgramResourceArgs {
  /** `https://host:port` of the node agent. */
  readonly agentUrl: pulumi.Input<string>;
  /** Site node the program is for. */
  readonly node: pulumi.Input<string>;
  /** Equals `program.metadata.name`; a change replaces the resource. */
  readonly programName: pulumi.Input<string>;
  /** The compiled program (`compileProgram`). */
  readonly program: pulumi.Input<NodeProgram>;
}

/**
 * One compiled policy on one node agent, shown by Pulumi as
 * `pulumi-nodejs:dynamic/fos1:NodeProgram`. Its inputs are the compiled
 * program, so a preview diff names the classes, rules and map entries that
 * change.
 */
export class NodeProgramResource extends pulumi.dynamic.Resource {
  declare readonly hash: pulumi.Output<string>;
  declare readonly appliedAt: pulumi.Output<string>;
  declare readonly drift: pulumi.Output<Drift[]>;

  constructor(name: string, args: NodeProgramResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      nodeProgramProvider,
      name,
      { ...args, hash: undefined, appliedAt: undefined, drift: undefined },
      opts,
      "fos1",
      "NodeProgram",
    );
  }
}
