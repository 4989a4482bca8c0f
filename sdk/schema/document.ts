import { z } from "zod";
import { name } from "./quantities";

export const API_VERSION = "networking.fos1.io/v1";

/**
 * Kubernetes-style metadata. Only `name` matters to fos1-dpi; the rest of what a
 * custom resource read back from a cluster carries (uid, resourceVersion,
 * managedFields...) is accepted and ignored, so a `kubectl get -o yaml` output
 * validates as it is.
 */
export const metadata = z.looseObject({
  name,
  namespace: name.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** The envelope every fos1-dpi document shares; `spec` is strict, `status` is the cluster's and ignored. */
export function documentSchema<K extends string, S extends z.ZodType>(kind: K, spec: S) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
    kind: z.literal(kind),
    metadata,
    spec,
    status: z.unknown().optional(),
  });
}

/** Adds an issue for every value that occurs more than once, at the later occurrence. */
export function reportDuplicates(
  ctx: z.RefinementCtx,
  values: readonly string[],
  pathOf: (index: number) => (string | number)[],
  what: string,
): void {
  const first = new Map<string, number>();
  values.forEach((value, index) => {
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, index);
    else
      ctx.addIssue({
        code: "custom",
        path: pathOf(index),
        message: `duplicate ${what} "${value}" (also at index ${earlier})`,
      });
  });
}
