import * as pulumi from "@pulumi/pulumi";
import type { PolicyComponentArgs } from "./base/policy-component";
import {
  deployPrograms,
  policyDocument,
  type DeployedPrograms,
  type NodeProgramStatus,
  type SpecInput,
} from "./base/policy-programs";
import { ComponentArgsError } from "./base/component-error";
import { withoutPromiseStacks } from "./base/promise-stacks";
import { resolveSite } from "./base/site-source";

export interface FirewallFastPathArgs extends PolicyComponentArgs {
  /**
   * The FastPathPolicy spec: which applications may be offloaded once
   * inspection has cleared them (`offload`), and what never may
   * (`criticalZones`, `sensitiveApplications`, `tlsInspection`,
   * `watchlists`). Default-deny: an empty `offload` offloads nothing.
   */
  readonly fastPath: pulumi.Input<SpecInput<"FastPathPolicy">>;
  /**
   * The FirewallPolicy spec: risk threshold, scope and TTL of the blocks DPI
   * events create, and application allow/deny rules per segment.
   * @default no firewall program: inspection verdicts create no blocks
   */
  readonly firewall?: pulumi.Input<SpecInput<"FirewallPolicy">>;
}

/**
 * The enforcement half of DPI: the eBPF fast path for flows inspection has
 * cleared (sampled, re-inspected, never for critical zones) and the firewall
 * that turns risky events into blocks with a TTL on every node.
 *
 * ```ts
 * new FirewallFastPath("edge", {
 *   fastPath: { offload: [{ name: "video", applications: ["netflix"] }], criticalZones: [{ name: "pci", prefixes: ["10.0.50.0/24"] }] },
 *   firewall: { blocks: { riskThreshold: 70, ttl: "15m" } },
 * });
 * ```
 */
export class FirewallFastPath extends pulumi.ComponentResource {
  /** The agents' owner names of the fast-path and firewall programs. */
  readonly programNames: string[];
  /** Program name -> node name -> compiled program hash. */
  readonly programHashes: pulumi.Output<Record<string, Record<string, string>>>;
  /** Program name -> node name -> what its agent reports. */
  readonly nodeStatus: pulumi.Output<Record<string, Record<string, NodeProgramStatus>>>;

  constructor(name: string, args: FirewallFastPathArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fos1:dpi:FirewallFastPath", name, {}, opts);
    const deployed = withoutPromiseStacks(() => this.deploy(name, args));
    this.programNames = deployed.map((d) => d.programName);
    this.programHashes = pulumi
      .all(deployed.map((d) => d.hashes))
      .apply((all) => Object.fromEntries(all.map((h, i) => [this.programNames[i], h])));
    this.nodeStatus = pulumi
      .all(deployed.map((d) => d.status))
      .apply((all) => Object.fromEntries(all.map((s, i) => [this.programNames[i], s])));
    this.registerOutputs({
      programNames: this.programNames,
      programHashes: this.programHashes,
      nodeStatus: this.nodeStatus,
    });
  }

  /** The fast-path programs, and the firewall's when it has a policy. */
  private deploy(name: string, args: FirewallFastPathArgs): DeployedPrograms[] {
    const who = { type: "fos1:dpi:FirewallFastPath", name };
    const policyName = args.policyName ?? name;
    const site = resolveSite(who.type, name, args.site);
    if (args.fastPath === undefined) {
      throw new ComponentArgsError(who.type, name, [{ path: "fastPath", message: "required" }]);
    }
    const deployed = [
      deployPrograms(
        this,
        name,
        "fastpath",
        "FastPathPolicy",
        policyName,
        policyDocument(who, "FastPathPolicy", policyName, args.fastPath, site, "fastPath"),
        site,
      ),
    ];
    if (args.firewall !== undefined) {
      deployed.push(
        deployPrograms(
          this,
          name,
          "firewall",
          "FirewallPolicy",
          policyName,
          policyDocument(who, "FirewallPolicy", policyName, args.firewall, site, "firewall"),
          site,
        ),
      );
    }
    return deployed;
  }
}
