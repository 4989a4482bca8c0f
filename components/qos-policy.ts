import * as pulumi from "@pulumi/pulumi";
import { SinglePolicyComponent, type PolicyComponentArgs } from "./base/policy-component";
import type { SpecInput } from "./base/policy-programs";

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
export class QosPolicy extends SinglePolicyComponent<"QoSPolicy"> {
  constructor(name: string, args: QosPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fos1:dpi:QosPolicy", "QoSPolicy", name, args, opts);
  }
}
