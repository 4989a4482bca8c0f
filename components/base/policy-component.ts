import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CustomResourceKind } from "../kubernetes/crds";
import { policyCustomResource } from "../kubernetes/policy-custom-resource";
import { ComponentArgsError } from "./component-error";
import {
  deployPrograms,
  policyDocument,
  type DeployedPrograms,
  type NodeProgramStatus,
  type SpecInput,
} from "./policy-programs";
import { withoutPromiseStacks } from "./promise-stacks";
import { resolveSite, type SiteInput } from "./site-source";

/** Arguments every policy component shares. */
export interface PolicyComponentArgs {
  /**
   * Name of the policy: the agents own its state as `<kind>-<policyName>`,
   * and its custom resource carries it. Renaming replaces the programs.
   * @default the component's resource name
   */
  readonly policyName?: string;
  /**
   * The site to program: its uplinks, segments and router nodes with their
   * agent URLs. A plain value, since it decides which resources exist.
   * @default the stack config `fos1:site`
   */
  readonly site?: SiteInput;
}

export interface DeployedPolicy {
  readonly programs: DeployedPrograms;
  readonly customResource?: k8s.apiextensions.CustomResource;
}

/**
 * What QosPolicy and AppRoutingPolicy share: validate the spec against the
 * schema and the site, one NodeProgram per node, and optionally the policy's
 * custom resource (after the CRDs a DpiSensor installs).
 */
export function deployPolicy<K extends CustomResourceKind>(
  parent: pulumi.ComponentResource,
  who: { type: string; name: string },
  kind: K,
  args: PolicyComponentArgs & { spec: pulumi.Input<SpecInput<K>>; customResource?: boolean },
): DeployedPolicy {
  const policyName = args.policyName ?? who.name;
  const site = resolveSite(who.type, who.name, args.site);
  if (args.spec === undefined) {
    throw new ComponentArgsError(who.type, who.name, [{ path: "spec", message: "required" }]);
  }
  const document = policyDocument(who, kind, policyName, args.spec, site);
  const programs = deployPrograms(parent, who.name, "program", kind, policyName, document, site);
  if (!(args.customResource ?? true)) return { programs };
  const customResource = new k8s.apiextensions.CustomResource(
    `${who.name}-custom-resource`,
    policyCustomResource(kind, policyName, who.name, args.spec),
    { parent },
  );
  return { programs, customResource };
}

/**
 * The outputs and wiring of a component that deploys one policy document
 * (QosPolicy, AppRoutingPolicy): each subclass only names its type and kind.
 */
export abstract class SinglePolicyComponent<K extends CustomResourceKind> extends pulumi.ComponentResource {
  /** The agents' owner name of this policy's state (`<kind>-<policyName>`). */
  readonly programName: string;
  /** Node name -> hash of the program compiled for it. */
  readonly programHashes: pulumi.Output<Record<string, string>>;
  /** Node name -> what its agent reports (hash applied, time, drift count). */
  readonly nodeStatus: pulumi.Output<Record<string, NodeProgramStatus>>;
  /** Name of the policy's custom resource, when created. */
  readonly customResourceName: pulumi.Output<string | undefined>;

  protected constructor(
    type: string,
    kind: K,
    name: string,
    args: PolicyComponentArgs & { spec: pulumi.Input<SpecInput<K>>; customResource?: boolean },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const deployed = withoutPromiseStacks(() => deployPolicy(this, { type, name }, kind, args));
    this.programName = deployed.programs.programName;
    this.programHashes = deployed.programs.hashes;
    this.nodeStatus = deployed.programs.status;
    this.customResourceName = pulumi.output(deployed.customResource?.metadata.name);
    this.registerOutputs({
      programName: this.programName,
      programHashes: this.programHashes,
      nodeStatus: this.nodeStatus,
      customResourceName: this.customResourceName,
    });
  }
}
