import type { AgentClient } from "../../../sdk/agent-api/client";
import { compileProgram, programName, type PolicyDocument } from "../../../sdk/compile/program";
import { validateKind } from "../../../sdk/schema/documents";
import { problemsFromZod, ValidationError, type Problem } from "../../../sdk/schema/problem";
import { checkAgainstSite } from "../../../sdk/schema/site-checks";
import type { Site } from "../../../sdk/schema/site";
import {
  FINALIZER,
  isManagedByPulumi,
  policyResource,
  type NodeStatus,
  type PolicyResource,
  type PolicyStatus,
} from "./policy-resource";

type SiteNode = Site["spec"]["nodes"][number];

export interface ReconcileContext {
  readonly site: Site;
  /** The client of a node's agent: its `agent.url` with the controller's token and CA. */
  readonly agentFor: (node: SiteNode) => AgentClient;
}

/** What the caller writes back to the resource. */
export interface ReconcileOutcome {
  readonly kind: PolicyResource["kind"];
  readonly name: string;
  /** The new `.status`; absent when the resource is gone once its finalizer is removed. */
  readonly status?: PolicyStatus;
  /** The resource's finalizers as they must be; absent when they are right as they are. */
  readonly finalizers?: readonly string[];
}

/**
 * Makes the site's agents hold what one QoSPolicy or RoutingPolicy resource
 * asks, with the compiler and AgentClient the Pulumi provider uses:
 *
 * - a valid spec is compiled per node and PUT to each node's agent (a PUT of
 *   what the agent holds writes nothing), and the resource gets the finalizer;
 * - an invalid spec is applied nowhere (the last valid programs stay) and its
 *   status lists each problem at its document path;
 * - a resource being deleted has its programs deleted from every node; the
 *   finalizer goes once every node confirmed;
 * - a resource a Pulumi stack created is only reported on: its programs are
 *   the stack's NodeProgram resources.
 *
 * Nodes are independent: one unreachable agent is an error in its entry of
 * `status.nodes`, never a reason to skip the others.
 */
export async function reconcileResource(
  object: unknown,
  context: ReconcileContext,
): Promise<ReconcileOutcome> {
  const parsed = policyResource.safeParse(object);
  if (!parsed.success) throw new ValidationError(problemsFromZod(parsed.error), "policy resource");
  const resource = parsed.data;
  const { kind, metadata } = resource;
  const program = programName({ kind, metadata: { name: metadata.name } } as PolicyDocument);
  const finalizers = metadata.finalizers ?? [];
  const nodes = context.site.spec.nodes;
  const observedGeneration = metadata.generation;

  if (metadata.deletionTimestamp !== undefined) {
    if (!finalizers.includes(FINALIZER)) return { kind, name: metadata.name };
    const statuses = await Promise.all(nodes.map((node) => removeFrom(node, program, context)));
    const removed = statuses.every((s) => s.error === undefined);
    return {
      kind,
      name: metadata.name,
      ...(removed
        ? { finalizers: finalizers.filter((f) => f !== FINALIZER) }
        : { status: { observedGeneration, applied: applied(statuses), problems: [], nodes: statuses } }),
    };
  }

  const problems = validate(resource, context.site);
  if (!Array.isArray(problems)) {
    const document = problems;
    const managed = isManagedByPulumi(resource);
    const statuses = await Promise.all(
      nodes.map((node) => {
        const compiled = compileProgram(document, context.site, node.name);
        return managed
          ? reportOn(node, compiled.metadata.name, compiled.hash, context)
          : applyTo(node, compiled, context);
      }),
    );
    const status: PolicyStatus = {
      observedGeneration,
      applied: applied(statuses),
      problems: [],
      nodes: statuses,
    };
    const needsFinalizer = !managed && !finalizers.includes(FINALIZER);
    return {
      kind,
      name: metadata.name,
      status,
      ...(needsFinalizer ? { finalizers: [...finalizers, FINALIZER] } : {}),
    };
  }

  // Nothing applied: the nodes keep whatever the last valid spec gave them, and the status says so.
  const statuses = await Promise.all(nodes.map((node) => reportOn(node, program, undefined, context)));
  return {
    kind,
    name: metadata.name,
    status: { observedGeneration, applied: `0/${nodes.length}`, problems, nodes: statuses },
  };
}

/** The validated policy document, or the problems with the paths a `kubectl apply`d YAML shows. */
function validate(resource: PolicyResource, site: Site): PolicyDocument | Problem[] {
  const document = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    metadata: { name: resource.metadata.name },
    spec: resource.spec,
  };
  const result = validateKind(resource.kind, document);
  if (!result.ok) return result.problems;
  const siteProblems = checkAgainstSite(result.value, site);
  return siteProblems.length > 0 ? siteProblems : (result.value as PolicyDocument);
}

function applied(statuses: readonly NodeStatus[]): string {
  return `${statuses.filter((s) => s.hash !== undefined && s.error === undefined).length}/${statuses.length}`;
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message.split("\n").join("; ") : String(error);
}

async function applyTo(
  node: SiteNode,
  program: ReturnType<typeof compileProgram>,
  context: ReconcileContext,
): Promise<NodeStatus> {
  const agent = context.agentFor(node);
  const name = program.metadata.name;
  try {
    await agent.putProgram(program);
    const state = await agent.getProgram(name);
    if (!state)
      return { node: node.name, program: name, error: "the agent accepted the program but no longer has it" };
    return {
      node: node.name,
      program: name,
      hash: state.program.hash,
      appliedAt: state.appliedAt,
      drift: state.drift.length,
    };
  } catch (error) {
    return { node: node.name, program: name, error: failure(error) };
  }
}

/** What the node holds, without changing it; an error when it holds nothing, or not `expectedHash`. */
async function reportOn(
  node: SiteNode,
  name: string,
  expectedHash: string | undefined,
  context: ReconcileContext,
): Promise<NodeStatus> {
  try {
    const state = await context.agentFor(node).getProgram(name);
    if (!state) return { node: node.name, program: name, error: "the agent holds no such program" };
    const held = {
      node: node.name,
      program: name,
      hash: state.program.hash,
      appliedAt: state.appliedAt,
      drift: state.drift.length,
    };
    if (expectedHash !== undefined && state.program.hash !== expectedHash)
      return {
        ...held,
        error: `the agent holds another version than the spec compiles to (${expectedHash.slice(0, 12)})`,
      };
    return held;
  } catch (error) {
    return { node: node.name, program: name, error: failure(error) };
  }
}

async function removeFrom(node: SiteNode, name: string, context: ReconcileContext): Promise<NodeStatus> {
  try {
    await context.agentFor(node).deleteProgram(name);
    return { node: node.name, program: name };
  } catch (error) {
    return { node: node.name, program: name, error: failure(error) };
  }
}
