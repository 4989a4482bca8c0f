import * as pulumi from "@pulumi/pulumi";
import { deployPolicy, type PolicyComponentArgs } from "./base/policy-component";
import type { NodeProgramStatus, SpecInput } from "./base/policy-programs";

export interface AppRoutingPolicyArgs extends PolicyComponentArgs {
  /**
   * The RoutingPolicy spec as in DESIGN.md: `rules`, first match wins, each
   * naming applications and/or a `networkSegment` and the uplink to
   * `routeVia` (a site uplink or `default-internet`). A parsed custom
   * resource's `spec` works as is.
   */
  readonly spec: pulumi.Input<SpecInput<"RoutingPolicy">>;
  /**
   * Also create the `RoutingPolicy` custom resource so the policy is visible with
   * kubectl. Needs the CRDs a DpiSensor installs; turn off on plain-Linux sites.
   * @default true
   */
  readonly customResource?: boolean;
}

/**
 * Per-application routing: each uplink becomes a routing table and an ip
 * rule on its fwmark, and the eBPF (segment, application) -> mark map picks
 * the uplink at a flow's first packet. A flow keeps its uplink while it lives.
 *
 * ```ts
 * new AppRoutingPolicy("app-routing", { spec: { rules: [{ name: "video", applications: ["youtube"], action: { routeVia: "isp2" } }] } });
 * ```
 */
export class AppRoutingPolicy extends pulumi.ComponentResource {
  /** The agents' owner name of this policy's state (`routing-<policyName>`). */
  readonly programName: string;
  /** Node name -> hash of the program compiled for it. */
  readonly programHashes: pulumi.Output<Record<string, string>>;
  /** Node name -> what its agent reports (hash applied, time, drift count). */
  readonly nodeStatus: pulumi.Output<Record<string, NodeProgramStatus>>;
  /** Name of the `RoutingPolicy` custom resource, when created. */
  readonly customResourceName: pulumi.Output<string | undefined>;

  constructor(name: string, args: AppRoutingPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fos1:dpi:AppRoutingPolicy", name, {}, opts);
    const deployed = deployPolicy(this, { type: "fos1:dpi:AppRoutingPolicy", name }, "RoutingPolicy", args);
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
