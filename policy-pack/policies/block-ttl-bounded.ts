import type { ResourceValidationPolicy } from "@pulumi/policy";
import { duration } from "../../sdk/schema/quantities";
import { nodeProgramOf } from "../node-program";

export interface BlockTtlConfig {
  /** Longest block a DPI verdict may create, as in policies (`24h`). */
  readonly maxBlockTtl: string;
}

/**
 * Blocks created by DPI verdicts expire: a TTL beyond the team's bound turns
 * one false positive into a lasting outage for a customer.
 */
export const blockTtlBounded: ResourceValidationPolicy = {
  name: "block-ttl-bounded",
  description: "Blocks created from DPI verdicts expire within the configured bound.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { maxBlockTtl: { type: "string", default: "24h" } } },
  validateResource: (args, reportViolation) => {
    const program = nodeProgramOf(args);
    const firewall = program?.spec.runtime.firewall;
    if (!program || !firewall) return;
    const { maxBlockTtl } = args.getConfig<BlockTtlConfig>();
    const bound = duration.safeParse(maxBlockTtl);
    if (!bound.success) {
      reportViolation(`config maxBlockTtl: ${bound.error.issues[0].message}`);
      return;
    }
    if (firewall.blockTtlMs > bound.data) {
      reportViolation(
        `program ${program.metadata.name} on node ${program.metadata.node}: spec.runtime.firewall.blockTtlMs: ${firewall.blockTtlMs} ms exceeds the bound of ${maxBlockTtl}`,
      );
    }
  },
};
