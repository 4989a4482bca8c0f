/** Value of `app.kubernetes.io/part-of` on everything fos1-dpi deploys. */
export const PART_OF = "fos1-dpi";

/** Version stamped on objects and used as the default image tag. */
export const FOS1_VERSION = "0.1.0";

/**
 * The recommended `app.kubernetes.io/*` labels. `instance` is the Pulumi
 * resource name of the component, so two sensors in one cluster stay apart.
 */
export function standardLabels(component: string, instance: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": component,
    "app.kubernetes.io/instance": instance,
    "app.kubernetes.io/version": FOS1_VERSION,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/** The subset of labels that identifies pods (stable across versions, as selectors must be). */
export function selectorLabels(component: string, instance: string): Record<string, string> {
  return { "app.kubernetes.io/name": component, "app.kubernetes.io/instance": instance };
}
