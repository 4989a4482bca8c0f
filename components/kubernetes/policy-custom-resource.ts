import type * as pulumi from "@pulumi/pulumi";
import { API_VERSION } from "../../sdk/schema/document";
import { standardLabels } from "../base/labels";
import type { CustomResourceKind } from "./crds";

export interface PolicyCustomResourceManifest {
  readonly apiVersion: string;
  readonly kind: CustomResourceKind;
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
  readonly spec: pulumi.Input<unknown>;
}

/**
 * The policy as a custom resource, so `kubectl get qos` shows it. It carries
 * the spec as written (`20%`), which the CRD schema describes. Labelled
 * managed-by pulumi: the controller reports its status but leaves the
 * programming to the stack's NodeProgram resources.
 */
export function policyCustomResource(
  kind: CustomResourceKind,
  policyName: string,
  instance: string,
  spec: pulumi.Input<unknown>,
): PolicyCustomResourceManifest {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name: policyName, labels: standardLabels(`fos1-${kind.toLowerCase()}`, instance) },
    spec,
  };
}
