import { z } from "zod";
import { nearestApplicationNames, resolveApplications } from "../apps";

/**
 * A policy's `applications` list: catalog names or categories, each checked
 * against the catalog. An unknown name is reported at its own index with the
 * nearest known names, so a typo is fixed without opening the catalog.
 */
export const applicationList = z
  .array(z.string().min(1, "must not be empty"))
  .min(1, "must name at least one application")
  .superRefine((names, ctx) => {
    const seen = new Set<string>();
    names.forEach((appName, index) => {
      if (!resolveApplications(appName)) {
        ctx.addIssue({
          code: "custom",
          path: [index],
          message: `unknown application "${appName}"; nearest known: ${nearestApplicationNames(appName).join(", ")}`,
        });
      } else if (seen.has(appName.toLowerCase())) {
        ctx.addIssue({ code: "custom", path: [index], message: `"${appName}" is listed twice` });
      }
      seen.add(appName.toLowerCase());
    });
  });
