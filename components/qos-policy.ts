import * as pulumi from "@pulumi/pulumi";
import { deployPolicy, type PolicyComponentArgs } from "./base/policy-component";
import type { NodeProgramStatus, SpecInput } from "./base/policy-programs";

export interface QosPolicyArgs extends PolicyComponentArgs {
  /**
   * The QoSPolicy spec as in DESIGN.md: `classes` (applications, priority,
   * bandwidth `min`/`max` as percentages of each uplink, optional `dscp`) and
   * optionally the `uplinks` to shape. A parsed custom resource's `spec`
   * works as is.
   */
  readonly spec: pulumi.Input<SpecInput<"QoSPolicy">>;
  /**
   * Also create the `QoSPolicy` custom resource so the policy is visible with
   * kubectl. Needs the CRDs a DpiSensor installs; turn off on plain-Linux sites.
   * @default true
   */
  readonly customResource?: boolean;
}

/**
 * Per-application QoS on every uplink of a site: an HTB tree per uplink with
 * one class per policy class, a DSCP mark per class, and the eBPF
 * application -> class map. Each router node gets the program compiled for
 * it through its agent.
 *
 * ```ts
 * new QosPolicy("default-qos", { spec: { classes: [{ name: "voip", applications: ["zoom"], priority: "high" }] } });
 * ```
 */
export class QosPolicy extends pulumi.ComponentResource {
  /** The agents' owner name of this policy's state (`qos-<policyName>`). */
  readonly programName: string;
  /** Node name -> hash of the program compiled for it. */
  readonly programHashes: pulumi.Output<Record<string, string>>;
  /** Node name -> what its agent reports (hash applied, time, drift count). */
  readonly nodeStatus: pulumi.Output<Record<string, NodeProgramStatus>>;
  /** Name of the `QoSPolicy` custom resource, when created. */
  readonly customResourceName: pulumi.Output<string | undefined>;

  constructor(name: string, args: QosPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fos1:dpi:QosPolicy", name, {}, opts);
    const deployed = deployPolicy(this, { type: "fos1:dpi:QosPolicy", name }, "QoSPolicy", args);
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
