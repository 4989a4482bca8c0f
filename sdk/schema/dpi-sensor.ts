import { z } from "zod";
import { documentSchema, reportDuplicates } from "./document";
import { bandwidth, cidr, interfaceName, name } from "./quantities";

export const ENGINES = ["suricata", "zeek", "nprobe", "ndpi"] as const;
export type Engine = (typeof ENGINES)[number];

const labelKey = z
  .string()
  .regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be a Kubernetes label key");

/** A Kubernetes label selector, as in a NetworkPolicy. */
export const labelSelector = z.strictObject({
  matchLabels: z.record(labelKey, z.string().max(63)).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: labelKey,
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const ruleSource = z.strictObject({
  name,
  /** Where the rule archive is fetched from (ET Open, Snort community, an internal mirror). */
  url: z.url({ protocol: /^https$/, error: "must be an https URL" }),
  /** sha256 of the archive: a rule change is a visible diff, a rollback is a stack rollback. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits (the archive's sha256)"),
});

/**
 * DpiSensor: which engines inspect which workloads. After Calico's
 * DeepPacketInspection: only traffic of workloads the selector picks is mirrored.
 */
export const dpiSensorSpec = z
  .strictObject({
    engines: z
      .array(z.enum(ENGINES))
      .min(1, "must name at least one engine")
      .superRefine((engines, ctx) => reportDuplicates(ctx, engines, (i) => [i], "engine")),
    /** Workloads to inspect. In a cluster a label selector; on plain hosts, prefixes. Default: everything. */
    selector: labelSelector.optional(),
    prefixes: z.array(cidr).optional(),
    ruleSources: z.array(ruleSource).default([]),
    /** Traffic the sensors must keep up with; sizes their CPU and memory (1 CPU and 1 GiB per 1 Gbit/s). */
    expectedThroughput: bandwidth,
    /** Interface the data plane clones inspected packets to. @default "fos1-mirror" */
    mirrorInterface: interfaceName.default("fos1-mirror"),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.engines.forEach((engine, i) => {
      if (seen.has(engine))
        ctx.addIssue({ code: "custom", path: ["engines", i], message: `duplicate engine "${engine}"` });
      seen.add(engine);
    });
    if (spec.engines.includes("suricata") && spec.ruleSources.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["ruleSources"],
        message: "suricata needs at least one pinned rule source",
      });
    }
  });

export const dpiSensor = documentSchema("DpiSensor", dpiSensorSpec);
export type DpiSensor = z.output<typeof dpiSensor>;
export type DpiSensorSpec = z.output<typeof dpiSensorSpec>;
