import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { validateKind } from "../../sdk/schema/documents";
import type { Site, site as siteSchema } from "../../sdk/schema/site";
import { ComponentArgsError } from "./component-error";

/** Stack config namespace of fos1-dpi: `fos1:site`, `fos1:agentToken`, `fos1:agentCa`. */
export const CONFIG_NAMESPACE = "fos1";
/** Stack config key holding the site document (the same YAML as a `kind: Site` file). */
export const SITE_CONFIG_KEY = "site";

/** A Site document as written in YAML or stack config (`100Mbit`, `"0xf0"`). */
export type SiteInput = z.input<typeof siteSchema>;

/**
 * The site a component deploys to: its `site` argument, else the stack's
 * `fos1:site` config. Plain values only: the site decides which resources
 * exist (one program per node), and Pulumi must know that while it plans.
 */
export function resolveSite(component: string, resourceName: string, arg: SiteInput | undefined): Site {
  const fromConfig = arg === undefined;
  const input = arg ?? new pulumi.Config(CONFIG_NAMESPACE).getObject<unknown>(SITE_CONFIG_KEY);
  const where = fromConfig ? `${CONFIG_NAMESPACE}:${SITE_CONFIG_KEY}` : "args.site";
  if (input === undefined) {
    throw new ComponentArgsError(component, resourceName, [
      {
        path: where,
        message: `required: pass args.site or set stack config ${CONFIG_NAMESPACE}:${SITE_CONFIG_KEY}`,
      },
    ]);
  }
  const result = validateKind("Site", input);
  if (!result.ok) {
    throw new ComponentArgsError(
      component,
      resourceName,
      result.problems.map((p) => ({ ...p, path: p.path ? `${where}.${p.path}` : where })),
    );
  }
  return result.value;
}
