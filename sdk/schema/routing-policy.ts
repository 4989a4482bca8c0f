import { z } from "zod";
import { applicationList } from "./applications";
import { documentSchema, reportDuplicates } from "./document";
import { name } from "./quantities";

/**
 * `routeVia` may name a site uplink, or this reserved name for the site's
 * default uplink (the one with `default: true`).
 */
export const DEFAULT_INTERNET = "default-internet";

const routingRule = z
  .strictObject({
    name,
    applications: applicationList.optional(),
    /** A network segment declared on the site (`spec.segments[].name`). */
    networkSegment: name.optional(),
    action: z.strictObject({ routeVia: name }),
  })
  .superRefine((rule, ctx) => {
    if (!rule.applications && !rule.networkSegment) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message:
          "a rule needs applications, networkSegment or both; a rule matching everything would move all traffic",
      });
    }
  });

/** First matching rule wins; a flow's uplink is decided at its first packet and kept while it lives. */
export const routingPolicySpec = z
  .strictObject({ rules: z.array(routingRule).min(1, "must declare at least one rule") })
  .superRefine((spec, ctx) => {
    reportDuplicates(
      ctx,
      spec.rules.map((r) => r.name),
      (i) => ["rules", i, "name"],
      "rule name",
    );
  });

export const routingPolicy = documentSchema("RoutingPolicy", routingPolicySpec);
export type RoutingPolicy = z.output<typeof routingPolicy>;
export type RoutingPolicySpec = z.output<typeof routingPolicySpec>;
