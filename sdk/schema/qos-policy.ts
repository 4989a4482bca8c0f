import { z } from "zod";
import { resolveApplications } from "../apps";
import { applicationList } from "./applications";
import { documentSchema, reportDuplicates } from "./document";
import { dscp, name, percentage } from "./quantities";

export const PRIORITIES = ["high", "medium", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The name of the class that carries whatever no class names. Declared explicitly or added by the compiler. */
export const DEFAULT_CLASS = "default";

const qosClass = z
  .strictObject({
    name,
    /** Applications or categories in this class. Required, except for the `default` class. */
    applications: applicationList.optional(),
    priority: z.enum(PRIORITIES),
    /** Guaranteed (`min`) and borrowing limit (`max`) as percentages of each uplink's bandwidth. */
    bandwidth: z.strictObject({ min: percentage.optional(), max: percentage.optional() }).optional(),
    /** DSCP written on the class's packets. Default: by class name (voip EF, interactive AF41, web AF21, bulk CS1, default BE), else by priority. */
    dscp: dscp.optional(),
  })
  .superRefine((cls, ctx) => {
    if (cls.name !== DEFAULT_CLASS && !cls.applications) {
      ctx.addIssue({
        code: "custom",
        path: ["applications"],
        message: `required (only the "${DEFAULT_CLASS}" class may omit it)`,
      });
    }
    const min = cls.bandwidth?.min;
    const max = cls.bandwidth?.max;
    if (min !== undefined && max !== undefined && min > max) {
      ctx.addIssue({
        code: "custom",
        path: ["bandwidth", "min"],
        message: `min ${min}% is greater than max ${max}%`,
      });
    }
    if (max === 0)
      ctx.addIssue({ code: "custom", path: ["bandwidth", "max"], message: "max must be greater than 0%" });
  });

export const qosPolicySpec = z
  .strictObject({
    classes: z.array(qosClass).min(1, "must declare at least one class").max(64, "at most 64 classes"),
    /** Uplinks (site uplink names) whose egress is shaped. Default: every uplink of the site. */
    uplinks: z.array(name).min(1).optional(),
  })
  .superRefine((spec, ctx) => {
    reportDuplicates(
      ctx,
      spec.classes.map((c) => c.name),
      (i) => ["classes", i, "name"],
      "class name",
    );
    const mins = spec.classes.reduce((sum, c) => sum + (c.bandwidth?.min ?? 0), 0);
    if (mins > 100) {
      ctx.addIssue({
        code: "custom",
        path: ["classes"],
        message: `class minimums sum to ${mins}%, more than the 100% an uplink has`,
      });
    }
    // Every application belongs to exactly one class, also when named through a category.
    const owner = new Map<string, string>();
    spec.classes.forEach((cls, classIndex) => {
      cls.applications?.forEach((appName, appIndex) => {
        for (const app of resolveApplications(appName) ?? []) {
          const other = owner.get(app.name);
          if (other !== undefined && other !== cls.name) {
            ctx.addIssue({
              code: "custom",
              path: ["classes", classIndex, "applications", appIndex],
              message: `application "${app.name}"${app.name === appName ? "" : ` (through "${appName}")`} is already in class "${other}"`,
            });
          }
          owner.set(app.name, cls.name);
        }
      });
    });
  });

export const qosPolicy = documentSchema("QoSPolicy", qosPolicySpec);
export type QosPolicy = z.output<typeof qosPolicy>;
export type QosPolicySpec = z.output<typeof qosPolicySpec>;
