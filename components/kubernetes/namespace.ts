import type * as k8s from "@pulumi/kubernetes";
import { standardLabels } from "../base/labels";

/**
 * The agent (hostNetwork, BPF and NET_ADMIN) and the sensors (capture on a
 * host interface) cannot run under the baseline or restricted Pod Security
 * levels, so the namespace enforces `privileged` and only these pods live
 * there; audits and warnings still report anything beyond `baseline`.
 */
export function namespaceManifest(name: string, instance: string): k8s.types.input.core.v1.Namespace {
  return {
    metadata: {
      name,
      labels: {
        ...standardLabels("fos1-dpi", instance),
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "baseline",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "baseline",
        "pod-security.kubernetes.io/warn-version": "latest",
      },
    },
  };
}
