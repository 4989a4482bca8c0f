import type * as pulumi from "@pulumi/pulumi";
import { AgentClient } from "../../sdk/agent-api/client";
import type { ProgramState } from "../../sdk/agent-api/api";
import {
  AGENT_TOKEN_CONFIG,
  credentialsFrom,
  environmentConfig,
  type AgentCredentials,
  type ConfigSource,
} from "./agent-credentials";
import { checkNodeProgram, diffNodeProgram } from "./node-program-diff";
import type { NodeProgramInputs, NodeProgramOutputs } from "./node-program-inputs";

export { checkNodeProgram as check, diffNodeProgram as diff };

/** How long create/update wait for the kernel to hold the program after the agent accepted it. */
const APPLIED_POLLS = 20;
const APPLIED_POLL_MS = 250;

let configured: AgentCredentials | undefined;

/** Called by the provider's `configure` with the stack's configuration. */
export function configure(config: ConfigSource): void {
  configured = credentialsFrom(config);
}

function client(agentUrl: string): AgentClient {
  const credentials = configured ?? credentialsFrom(environmentConfig(process.env));
  if (!credentials) {
    throw new Error(
      `no agent token: set it with \`pulumi config set --secret ${AGENT_TOKEN_CONFIG} <token>\``,
    );
  }
  return new AgentClient({ url: agentUrl, token: credentials.token, ca: credentials.ca });
}

export function resourceId(inputs: NodeProgramInputs): string {
  return `${inputs.program.metadata.node}/${inputs.program.metadata.name}`;
}

function outputsOf(inputs: NodeProgramInputs, state: ProgramState): NodeProgramOutputs {
  return {
    agentUrl: inputs.agentUrl,
    program: state.program,
    appliedAt: state.appliedAt,
    drift: state.drift,
  };
}

/**
 * PUT, then read back until the agent holds this exact program with no drift:
 * a resource is only reported created once the kernel enforces it.
 */
async function apply(inputs: NodeProgramInputs): Promise<NodeProgramOutputs> {
  const { metadata, hash } = inputs.program;
  const agent = client(inputs.agentUrl);
  const result = await agent.putProgram(inputs.program);
  let state: ProgramState | undefined;
  for (let poll = 0; poll < APPLIED_POLLS; poll++) {
    state = await agent.getProgram(metadata.name);
    if (state?.program.hash === hash && state.drift.length === 0) {
      return { ...outputsOf(inputs, state), writes: result.writes };
    }
    await new Promise((resolve) => setTimeout(resolve, APPLIED_POLL_MS));
  }
  const why = !state
    ? "the agent no longer has it"
    : state.program.hash !== hash
      ? `the agent holds another version (hash ${state.program.hash})`
      : `the kernel differs at ${state.drift.map((d) => d.path).join(", ")}`;
  throw new Error(`program ${metadata.name} on node ${metadata.node} was accepted but not applied: ${why}`);
}

export async function create(
  inputs: NodeProgramInputs,
): Promise<pulumi.dynamic.CreateResult<NodeProgramOutputs>> {
  return { id: resourceId(inputs), outs: await apply(inputs) };
}

export async function update(
  _id: string,
  _olds: NodeProgramOutputs,
  news: NodeProgramInputs,
): Promise<pulumi.dynamic.UpdateResult<NodeProgramOutputs>> {
  return { outs: await apply(news) };
}

/**
 * The program as the agent holds it and the kernel's drift from it, so
 * `pulumi refresh` shows both an out-of-band PUT (as changed inputs) and
 * kernel drift (in `drift`, which the next update repairs).
 */
export async function read(
  id: string,
  props: NodeProgramOutputs | undefined,
): Promise<pulumi.dynamic.ReadResult<NodeProgramOutputs>> {
  if (!props?.agentUrl || !props.program)
    throw new Error(`NodeProgram ${id}: cannot be imported without its agentUrl and program in state`);
  const state = await client(props.agentUrl).getProgram(props.program.metadata.name);
  if (!state) return {};
  const outs = outputsOf(props, state);
  return {
    id,
    props: outs,
    inputs: { agentUrl: outs.agentUrl, program: outs.program } as NodeProgramOutputs,
  };
}

/** Removes exactly what the program owns on its node; already gone is success. */
export async function remove(_id: string, props: NodeProgramOutputs): Promise<void> {
  await client(props.agentUrl).deleteProgram(props.program.metadata.name);
}
