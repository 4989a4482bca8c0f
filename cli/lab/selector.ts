import type { z } from "zod";
import type { labelSelector } from "../../sdk/schema/dpi-sensor";

export type LabelSelector = z.output<typeof labelSelector>;

/**
 * Kubernetes label-selector semantics (matchLabels and matchExpressions are
 * ANDed; NotIn and DoesNotExist also match objects without the key), so the
 * lab picks the same workloads a cluster's controller would.
 */
export function matchesSelector(labels: Readonly<Record<string, string>>, selector: LabelSelector): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    const ok =
      e.operator === "In"
        ? inValues
        : e.operator === "NotIn"
          ? !inValues
          : e.operator === "Exists"
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}
