import { z } from "zod";
import { resolveApplications } from "../apps";
import { applicationList } from "./applications";
import { documentSchema, reportDuplicates } from "./document";
import { cidr, duration, interfaceName, name } from "./quantities";

const offloadRule = z.strictObject({
  name,
  /** Applications whose flows may leave the slow path once inspection has classified and cleared them. */
  applications: applicationList,
  /** Packets a flow must have been inspected for before it may be offloaded. @default 10 */
  minInspectedPackets: z.number().int().min(1).max(10_000).default(10),
});

const criticalZone = z
  .strictObject({
    name,
    prefixes: z.array(cidr).default([]),
    interfaces: z.array(interfaceName).default([]),
  })
  .refine((zone) => zone.prefixes.length + zone.interfaces.length > 0, {
    message: "a zone needs prefixes or interfaces",
  });

const domainSuffix = z
  .string()
  .toLowerCase()
  .regex(
    /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/,
    "must be a domain such as example.com or *.example.com",
  );

/**
 * FastPathPolicy: which inspected flows may be offloaded to the eBPF fast path.
 * Default-deny: nothing is offloaded unless an `offload` rule names its
 * application; critical zones, sensitive and TLS-inspected applications and
 * watch-listed peers never leave the slow path.
 */
export const fastPathPolicySpec = z
  .strictObject({
    offload: z.array(offloadRule).default([]),
    criticalZones: z.array(criticalZone).default([]),
    /** Applications that must always be fully inspected. */
    sensitiveApplications: applicationList.optional(),
    /** Applications whose TLS is decrypted for inspection: never offloaded. */
    tlsInspection: z.strictObject({ applications: applicationList }).optional(),
    watchlists: z
      .strictObject({
        addresses: z.array(cidr).default([]),
        domains: z.array(domainSuffix).default([]),
      })
      .default({ addresses: [], domains: [] }),
    /** 1 in `oneIn` packets of an offloaded flow still reaches the sensors. @default 64 */
    sampling: z.strictObject({ oneIn: z.number().int().min(1).max(1_000_000) }).default({ oneIn: 64 }),
    /** Offloaded flows return to full inspection after this long. @default "5m" */
    reinspectAfter: duration.default(300_000),
    /** Under load, non-critical flows may be sampled instead of fully inspected; critical zones never are. */
    underLoad: z
      .strictObject({
        /** Sensor input rate (packets/s) above which sampling starts. */
        thresholdPps: z.number().int().min(1),
        sampleOneIn: z.number().int().min(2).max(1_000_000),
      })
      .optional(),
  })
  .superRefine((spec, ctx) => {
    reportDuplicates(
      ctx,
      spec.offload.map((r) => r.name),
      (i) => ["offload", i, "name"],
      "offload rule name",
    );
    reportDuplicates(
      ctx,
      spec.criticalZones.map((z) => z.name),
      (i) => ["criticalZones", i, "name"],
      "zone name",
    );
    const pinned = new Map<string, string>();
    for (const appName of spec.sensitiveApplications ?? []) {
      for (const app of resolveApplications(appName) ?? []) pinned.set(app.name, "sensitiveApplications");
    }
    for (const appName of spec.tlsInspection?.applications ?? []) {
      for (const app of resolveApplications(appName) ?? [])
        pinned.set(app.name, "tlsInspection.applications");
    }
    spec.offload.forEach((rule, ruleIndex) =>
      rule.applications.forEach((appName, appIndex) => {
        for (const app of resolveApplications(appName) ?? []) {
          const where = pinned.get(app.name);
          if (where) {
            ctx.addIssue({
              code: "custom",
              path: ["offload", ruleIndex, "applications", appIndex],
              message: `application "${app.name}" is also in ${where}, which never leaves the slow path`,
            });
          }
        }
      }),
    );
  });

export const fastPathPolicy = documentSchema("FastPathPolicy", fastPathPolicySpec);
export type FastPathPolicy = z.output<typeof fastPathPolicy>;
export type FastPathPolicySpec = z.output<typeof fastPathPolicySpec>;
