import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
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
  /**
   * Secret of the agents' TLS pair; the controller mounts only its `ca.crt`.
   * @default `${instance}-agent-tls`, the DpiSensor's default
   */
  readonly tlsSecretName?: pulumi.Input<string>;
}

/** The controller process in the agent image (agent/src/controller/bin.ts, built into the agent package). */
export const CONTROLLER_ENTRYPOINT = "/usr/lib/fos1-dpi/agent/dist/agent/src/controller/bin.js";
const SITE_DIR = "/etc/fos1/site";
const AGENT_CA_DIR = "/etc/fos1/agent-ca";

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

/**
 * Reads the policies and writes their status. `patch` on the policies
 * themselves is for the controller's finalizer only: it keeps a deleted
 * policy until its programs are removed from every agent.
 */
export function controllerClusterRole(o: Placement): k8s.types.input.rbac.v1.ClusterRole {
  return {
    metadata: {
      name: controllerNames(o.instance).clusterRole,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    rules: [
      { apiGroups: [API_GROUP], resources: plurals, verbs: ["get", "list", "watch", "patch"] },
      { apiGroups: [API_GROUP], resources: plurals.map((p) => `${p}/status`), verbs: ["patch"] },
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

/** Leader election (its own Lease, created on first start), so two replicas never program the agents at once. */
export function controllerLeaseRole(o: Placement): k8s.types.input.rbac.v1.Role {
  return {
    metadata: {
      name: controllerNames(o.instance).leaseRole,
      namespace: o.namespace,
      labels: standardLabels(CONTROLLER_COMPONENT, o.instance),
    },
    rules: [
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [controllerNames(o.instance).deployment],
        verbs: ["get", "update"],
      },
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
 * NodeProgram resources; for those it only reports status. It reaches each
 * agent at the site's `spec.nodes[].agent.url` (the node address the agents
 * listen on with host networking), with the agent token and the agents' CA.
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
              command: ["node", CONTROLLER_ENTRYPOINT],
              args: [
                ...["--site", `${SITE_DIR}/site.json`],
                ...["--lease-namespace", "$(POD_NAMESPACE)", "--lease-name", names.deployment],
                ...["--agent-ca", `${AGENT_CA_DIR}/ca.crt`],
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
              volumeMounts: [
                { name: "site", mountPath: SITE_DIR, readOnly: true },
                { name: "agent-ca", mountPath: AGENT_CA_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "site", configMap: { name: names.siteConfigMap } },
            {
              name: "agent-ca",
              secret: {
                secretName: o.tlsSecretName ?? `${o.instance}-agent-tls`,
                items: [{ key: "ca.crt", path: "ca.crt" }],
              },
            },
          ],
        },
      },
    },
  };
}
