import { z } from "zod";
import { applicationList } from "./applications";
import { documentSchema, reportDuplicates } from "./document";
import { duration, name } from "./quantities";

export const BLOCK_SCOPES = ["source", "destination", "flow"] as const;
export type BlockScope = (typeof BLOCK_SCOPES)[number];

/** Longest block a DPI verdict may create: an operator lifts longer ones by hand. */
export const MAX_BLOCK_TTL_MS = 7 * 86_400_000;

const appControlRule = z.strictObject({
  name,
  applications: applicationList,
  /** Site segments the rule applies to. Default: every source. */
  networkSegments: z.array(name).min(1).optional(),
  action: z.enum(["allow", "deny"]),
});

/**
 * FirewallPolicy: how inspection verdicts become blocks, and which
 * applications are allowed where. Application control acts as soon as a flow is
 * classified; risk blocks within milliseconds of the event.
 */
export const firewallPolicySpec = z
  .strictObject({
    blocks: z
      .strictObject({
        /** Events with a risk (0..100) at or above this create a block. @default 80 */
        riskThreshold: z.number().int().min(0).max(100).default(80),
        /** What a block covers. @default "source" */
        scope: z.enum(BLOCK_SCOPES).default("source"),
        /** How long a block lasts. @default "15m" */
        ttl: duration.default(900_000).refine((ms) => ms <= MAX_BLOCK_TTL_MS, {
          message: "must be at most 7d; longer blocks belong in a static rule",
        }),
      })
      .default({ riskThreshold: 80, scope: "source", ttl: 900_000 }),
    applicationControl: z.array(appControlRule).default([]),
  })
  .superRefine((spec, ctx) => {
    reportDuplicates(
      ctx,
      spec.applicationControl.map((r) => r.name),
      (i) => ["applicationControl", i, "name"],
      "rule name",
    );
  });

export const firewallPolicy = documentSchema("FirewallPolicy", firewallPolicySpec);
export type FirewallPolicy = z.output<typeof firewallPolicy>;
export type FirewallPolicySpec = z.output<typeof firewallPolicySpec>;
