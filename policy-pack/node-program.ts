import type { ResourceValidationArgs } from "@pulumi/policy";
import { nodeProgram, type NodeProgram } from "../sdk/compile/node-program";

/** Type token of the NodeProgram dynamic resource (components/providers/node-program-resource.ts). */
export const NODE_PROGRAM_TYPE = "pulumi-nodejs:dynamic/fos1:NodeProgram";

/**
 * The compiled program a NodeProgram resource delivers, when known at
 * preview. Policies check what the agents will be given, so a program built
 * by hand or by another tool is held to the same rules as a compiled one.
 */
export function nodeProgramOf(args: Pick<ResourceValidationArgs, "type" | "props">): NodeProgram | undefined {
  if (args.type !== NODE_PROGRAM_TYPE) return undefined;
  const parsed = nodeProgram.safeParse(args.props.program);
  return parsed.success ? parsed.data : undefined;
}
