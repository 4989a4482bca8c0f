import * as pulumi from "@pulumi/pulumi";
import { SinglePolicyComponent, type PolicyComponentArgs } from "./base/policy-component";
import type { SpecInput } from "./base/policy-programs";

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
export class AppRoutingPolicy extends SinglePolicyComponent<"RoutingPolicy"> {
  constructor(name: string, args: AppRoutingPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fos1:dpi:AppRoutingPolicy", "RoutingPolicy", name, args, opts);
  }
}
