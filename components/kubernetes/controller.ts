import type * as k8s from "@pulumi/kubernetes";
import { canonicalJson } from "../../sdk/compile/canonical";
import type { Site } from "../../sdk/schema/site";
import { selectorLabels, standardLabels } from "../base/labels";
import { agentNames, TOKEN_KEY } from "./agent";
import { API_GROUP, CUSTOM_RESOURCE_KINDS } from "./crds";
import type { Placement } from "./manifest-types";

export const CONTROLLER_COMPONENT = "fos1-controller";

export interface ControllerOptions extends Placement {
  readonly image: string;
  readonly site: Site;
}

export const controllerNames = (instance: string) => ({
  serviceAccount: `${instance}-controller`,
  clusterRole: `${instance}-controller`,
  leaseRole: `${instance}-controller-lease`,
  siteConfigMap: `${instance}-site`,
  deployment: `${instance}-controller`,
});

const plurals = Object.values(CUSTOM_RESOURCE_KINDS).map((k) => k.plural);

export function controllerServiceAccount(o: Placement): k8s.types.input.core.v1.ServiceAccount {
  return {
    metadata: {
      name: controllerNames(o.instance).serviceAccount,
      namespace: o.namespace,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
  };
}

/** Reads policies, writes only their status; Events for what it did. Nothing else in the cluster. */
export function controllerClusterRole(o: Placement): k8s.types.input.rbac.v1.ClusterRole {
  return {
    metadata: {
      name: controllerNames(o.instance).clusterRole,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    rules: [
      { apiGroups: [API_GROUP], resources: plurals, verbs: ["get", "list", "watch"] },
      {
        apiGroups: [API_GROUP],
        resources: plurals.map((p) => `${p}/status`),
        verbs: ["get", "update", "patch"],
      },
      { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
    ],
  };
}

export function controllerClusterRoleBinding(o: Placement): k8s.types.input.rbac.v1.ClusterRoleBinding {
  const names = controllerNames(o.instance);
  return {
    metadata: { name: names.clusterRole, labels: standardLabels(CONTROLLER_COMPONENT, o.instance) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: names.clusterRole },
    subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace: o.namespace }],
  };
}

/** Leader election, so a second replica during a rollout never programs the agents twice. */
export function controllerLeaseRole(o: Placement): k8s.types.input.rbac.v1.Role {
  return {
    metadata: {
      name: controllerNames(o.instance).leaseRole,
      namespace: o.namespace,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    rules: [
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
    ],
  };
}

export function controllerLeaseRoleBinding(o: Placement): k8s.types.input.rbac.v1.RoleBinding {
  const names = controllerNames(o.instance);
  return {
    metadata: {
      name: names.leaseRole,
      namespace: o.namespace,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.leaseRole },
    subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace: o.namespace }],
  };
}

/** The site the controller compiles for: the same document the stack config holds. */
export function siteConfigMap(o: ControllerOptions): k8s.types.input.core.v1.ConfigMap {
  return {
    metadata: {
      name: controllerNames(o.instance).siteConfigMap,
      namespace: o.namespace,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    data: { "site.json": canonicalJson(o.site, 2) + "\n" },
  };
}

/**
 * Reconciles QoSPolicy and RoutingPolicy resources applied outside Pulumi
 * (kubectl, Argo) into agent programs with the same compile and client code,
 * and writes per-node status back. Resources labelled
 * `app.kubernetes.io/managed-by: pulumi` are programmed by the stack's
 * NodeProgram resources; for those it only reports status.
 */
export function controllerDeployment(o: ControllerOptions): k8s.types.input.apps.v1.Deployment {
  const names = controllerNames(o.instance);
  return {
    metadata: {
      name: names.deployment,
      namespace: o.namespace,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(CONTROLLER_COMPONENT, o.instance) },
      strategy: { type: "Recreate" },
      template: {
        metadata: { labels: standardLabels(CONTROLLER_COMPONENT, o.instance) },
        spec: {
          serviceAccountName: names.serviceAccount,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "controller",
              image: o.image,
              args: [
                "controller",
                "--site",
                "/etc/fos1/site/site.json",
                "--lease-namespace",
                "$(POD_NAMESPACE)",
              ],
              env: [
                { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                {
                  name: "FOS1_AGENT_TOKEN",
                  valueFrom: { secretKeyRef: { name: agentNames(o.instance).tokenSecret, key: TOKEN_KEY } },
                },
              ],
              resources: {
                requests: { cpu: "50m", memory: "64Mi" },
                limits: { cpu: "500m", memory: "256Mi" },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "site", mountPath: "/etc/fos1/site", readOnly: true }],
            },
          ],
          volumes: [{ name: "site", configMap: { name: names.siteConfigMap } }],
        },
      },
    },
  };
}
