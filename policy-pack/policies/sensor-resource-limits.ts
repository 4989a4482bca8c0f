import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PART_OF } from "../../components/base/labels";

const DAEMON_SET = "kubernetes:apps/v1:DaemonSet";
const SENSOR_COMPONENT = /^fos1-sensor-/;

interface Container {
  name?: string;
  resources?: { limits?: Record<string, unknown> };
}

/**
 * A sensor without CPU and memory limits can starve the router it inspects
 * under an attack's traffic: every container of every fos1-dpi sensor
 * DaemonSet must declare both.
 */
export const sensorResourceLimits: ResourceValidationPolicy = {
  name: "sensor-resource-limits",
  description: "Every fos1-dpi sensor container declares CPU and memory limits.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== DAEMON_SET) return;
    const labels = (args.props.metadata?.labels ?? {}) as Record<string, string>;
    if (labels["app.kubernetes.io/part-of"] !== PART_OF) return;
    if (!SENSOR_COMPONENT.test(labels["app.kubernetes.io/component"] ?? "")) return;
    const pod = args.props.spec?.template?.spec ?? {};
    const containers = [
      ...((pod.initContainers ?? []) as Container[]).map((c, i) => ({ c, at: `initContainers[${i}]` })),
      ...((pod.containers ?? []) as Container[]).map((c, i) => ({ c, at: `containers[${i}]` })),
    ];
    for (const { c, at } of containers) {
      const missing = ["cpu", "memory"].filter((r) => c.resources?.limits?.[r] === undefined);
      if (missing.length > 0) {
        reportViolation(
          `spec.template.spec.${at}.resources.limits: container "${c.name}" has no ${missing.join(" or ")} limit`,
        );
      }
    }
  },
};
