import type * as k8s from "@pulumi/kubernetes";
import { z } from "zod";
import { API_VERSION } from "../../sdk/schema/document";
import { qosPolicySpec } from "../../sdk/schema/qos-policy";
import { routingPolicySpec } from "../../sdk/schema/routing-policy";
import { standardLabels } from "../base/labels";
import { toStructuralSchema } from "./structural-schema";

export const API_GROUP = API_VERSION.split("/")[0];
const VERSION = API_VERSION.split("/")[1];

/** The policy kinds that are custom resources, so kubectl and GitOps tools see and apply them. */
export const CUSTOM_RESOURCE_KINDS = {
  QoSPolicy: { plural: "qospolicies", singular: "qospolicy", shortNames: ["qos"], spec: qosPolicySpec },
  RoutingPolicy: {
    plural: "routingpolicies",
    singular: "routingpolicy",
    shortNames: ["rtp"],
    spec: routingPolicySpec,
  },
} as const;

export type CustomResourceKind = keyof typeof CUSTOM_RESOURCE_KINDS;

const specSchemas = new Map<CustomResourceKind, Readonly<Record<string, unknown>>>();

/**
 * The CRD's OpenAPI schema of `spec`, generated from the zod schema in its
 * input (YAML) form. Generated once per kind: every DpiSensor (one per site
 * in a fleet program) installs the same CRDs.
 */
export function specOpenApiSchema(kind: CustomResourceKind): Readonly<Record<string, unknown>> {
  let schema = specSchemas.get(kind);
  if (schema === undefined) {
    schema = Object.freeze(
      toStructuralSchema(
        z.toJSONSchema(CUSTOM_RESOURCE_KINDS[kind].spec, { io: "input" }) as Record<string, unknown>,
      ),
    );
    specSchemas.set(kind, schema);
  }
  return schema;
}

/**
 * Cluster-scoped: a policy applies to the whole site, as a stack does. The
 * status subresource carries per-node program state, written by the
 * controller, so `kubectl get qos` shows whether every node applied it.
 */
export function customResourceDefinition(
  kind: CustomResourceKind,
  instance: string,
): k8s.types.input.apiextensions.v1.CustomResourceDefinition {
  const names = CUSTOM_RESOURCE_KINDS[kind];
  return {
    metadata: { name: `${names.plural}.${API_GROUP}`, labels: standardLabels("fos1-crds", instance) },
    spec: {
      group: API_GROUP,
      scope: "Cluster",
      names: {
        kind,
        listKind: `${kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Applied", type: "string", jsonPath: ".status.applied" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: specOpenApiSchema(kind),
                status: {
                  type: "object",
                  x_kubernetes_preserve_unknown_fields: true,
                  description: "Per-node program state, written by the fos1-dpi controller.",
                },
              },
            },
          },
        },
      ],
    },
  };
}
