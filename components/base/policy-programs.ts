import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { NodeProgram } from "../../sdk/compile/node-program";
import { compileProgram, programName, type PolicyDocument } from "../../sdk/compile/program";
import { API_VERSION } from "../../sdk/schema/document";
import { DOCUMENT_SCHEMAS, validateKind, type DocumentOfKind } from "../../sdk/schema/documents";
import type { Site } from "../../sdk/schema/site";
import { checkAgainstSite } from "../../sdk/schema/site-checks";
import { NodeProgramResource } from "../providers/node-program-resource";
import { ComponentArgsError } from "./component-error";
import { isKnownNow } from "./known-value";

export type PolicyKind = PolicyDocument["kind"];

/** A policy spec as written in YAML (`20%`, `5m`): what components accept and custom resources carry. */
export type SpecInput<K extends PolicyKind> = z.input<(typeof DOCUMENT_SCHEMAS)[K]>["spec"];

/** Where a component's problems are reported from, for its error messages. */
export interface ComponentIdentity {
  /** Type token, e.g. `fos1:dpi:QosPolicy`. */
  readonly type: string;
  readonly name: string;
}

/** The argument a spec came in; problem paths start with it (`spec.classes[0]`, `fastPath.offload[1]`). */
export type SpecArgument = "spec" | "fastPath" | "firewall";

/**
 * Validates a spec as the `spec` of a `kind` document named `policyName`, and
 * what the site must confirm (uplinks, segments). Problem paths read as in the
 * YAML document, under the argument's name: `spec.classes[0].priority`;
 * a bad policy name is reported at `policyName`.
 */
export function validatePolicy<K extends PolicyKind>(
  who: ComponentIdentity,
  kind: K,
  policyName: string,
  spec: unknown,
  site: Site,
  argument: SpecArgument = "spec",
): DocumentOfKind<K> {
  const result = validateKind(kind, { apiVersion: API_VERSION, kind, metadata: { name: policyName }, spec });
  const problems = result.ok ? checkAgainstSite(result.value, site) : result.problems;
  if (problems.length > 0) {
    throw new ComponentArgsError(
      who.type,
      who.name,
      problems.map((p) => ({
        ...p,
        path: p.path.replace(/^spec(?=$|[.[])/, argument).replace(/^metadata\.name$/, "policyName"),
      })),
    );
  }
  return (result as { value: DocumentOfKind<K> }).value;
}

/**
 * The validated document. A plain spec is validated now and stays a plain
 * value, so a bad argument throws from the constructor and its programs are
 * compiled there too; a spec holding Outputs is validated when they resolve,
 * and the same error fails the preview.
 */
export function policyDocument<K extends PolicyKind>(
  who: ComponentIdentity,
  kind: K,
  policyName: string,
  spec: pulumi.Input<SpecInput<K>>,
  site: Site,
  argument: SpecArgument = "spec",
): DocumentOfKind<K> | pulumi.Output<DocumentOfKind<K>> {
  if (isKnownNow(spec)) return validatePolicy(who, kind, policyName, spec, site, argument);
  return pulumi
    .output(spec)
    .apply((resolved) => validatePolicy(who, kind, policyName, resolved, site, argument)) as pulumi.Output<
    DocumentOfKind<K>
  >;
}

/** The agent's owner name of a policy, known before its spec resolves. */
export function programNameOf(kind: PolicyKind, policyName: string): string {
  return programName({ kind, metadata: { name: policyName } } as PolicyDocument);
}

/** What each node's agent reports for one program, as a component output. */
export interface NodeProgramStatus {
  readonly agentUrl: string;
  readonly programName: string;
  readonly hash: string;
  readonly appliedAt: string;
  /** Number of kernel differences found by the last refresh. */
  readonly driftCount: number;
}

export interface DeployedPrograms {
  readonly programName: string;
  readonly resources: readonly NodeProgramResource[];
  /** Node name -> compiled program hash. */
  readonly hashes: pulumi.Output<Record<string, string>>;
  /** Node name -> what its agent reports. */
  readonly status: pulumi.Output<Record<string, NodeProgramStatus>>;
}

/**
 * One NodeProgram resource per node of the site, named `${name}-<part>-<node>`
 * and parented to the component, each fed the program compiled for its node.
 */
export function deployPrograms<K extends PolicyKind>(
  parent: pulumi.ComponentResource,
  name: string,
  part: string,
  kind: K,
  policyName: string,
  document: DocumentOfKind<K> | pulumi.Output<DocumentOfKind<K>>,
  site: Site,
): DeployedPrograms {
  const owner = programNameOf(kind, policyName);
  const nodes = site.spec.nodes;
  const compile = (doc: DocumentOfKind<K>, node: string) =>
    compileProgram(doc as unknown as PolicyDocument, site, node);
  // A document known now compiles now: its programs are plain inputs, with no Output chain per node to resolve.
  const compiled: (NodeProgram | pulumi.Output<NodeProgram>)[] = pulumi.Output.isInstance(document)
    ? nodes.map((node) => document.apply((doc) => compile(doc, node.name)))
    : nodes.map((node) => compile(document, node.name));
  const resources = nodes.map(
    (node, i) =>
      new NodeProgramResource(
        `${name}-${part}-${node.name}`,
        { agentUrl: node.agent.url, program: compiled[i] },
        { parent },
      ),
  );
  const byNode = <T>(values: readonly T[]) =>
    Object.fromEntries(nodes.map((node, i) => [node.name, values[i]]));
  // One Output chain per policy, not per node. `pulumi.all` copies what it
  // combines, deeply: it is given each program's hash, never the program.
  const compiledHashes = compiled.map((p) => (pulumi.Output.isInstance(p) ? p.apply((q) => q.hash) : p.hash));
  const hashes = pulumi.all(compiledHashes).apply(byNode);
  const status = pulumi
    .all([
      pulumi.all(resources.map((r) => r.program.apply((program) => program.hash))),
      pulumi.all(resources.map((r) => r.appliedAt)),
      pulumi.all(resources.map((r) => r.drift)),
    ])
    .apply(([appliedHashes, appliedAt, drift]) =>
      byNode(
        nodes.map((node, i): NodeProgramStatus => ({
          agentUrl: node.agent.url,
          programName: owner,
          hash: appliedHashes[i],
          appliedAt: appliedAt[i],
          driftCount: drift[i]?.length ?? 0,
        })),
      ),
    );
  return { programName: owner, resources, hashes, status };
}
