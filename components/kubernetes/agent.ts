import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { selectorLabels, standardLabels } from "../base/labels";
import type { Placement } from "./manifest-types";
import { AGENT_PATHS, renderAgentConfigs } from "./agent-config";
import type { Engine } from "../../sdk/schema/dpi-sensor";
import type { Site } from "../../sdk/schema/site";

export const AGENT_COMPONENT = "fos1-agent";
/** Capabilities the agent needs and nothing more: load eBPF, program nft/tc/ip, attach perf/tracing, raise memlock. */
export const AGENT_CAPABILITIES = ["BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"] as const;
/** Key of the agent token in its Secret. */
export const TOKEN_KEY = "token";

export interface AgentOptions extends Placement {
  readonly image: string;
  /** Port of the agent API (HTTPS) and its /metrics, /healthz, /readyz. */
  readonly port: number;
  /** Kubernetes node names of the site's routers: the DaemonSet runs on exactly these. */
  readonly nodes: readonly string[];
  /** Secret with `tls.crt`, `tls.key`, `ca.crt` (a cert-manager Certificate's secret). */
  readonly tlsSecretName: pulumi.Input<string>;
  readonly site: Site;
  /** The sensors' capture interface, which the agent mirrors inspected traffic to. */
  readonly mirrorInterface: string;
  /** The sensor engines deployed: the agent ingests each one's output. */
  readonly engines: readonly Engine[];
}

export const agentNames = (instance: string) => ({
  serviceAccount: `${instance}-agent`,
  tokenSecret: `${instance}-agent-token`,
  config: `${instance}-agent-config`,
  role: `${instance}-agent`,
  daemonSet: `${instance}-agent`,
  service: `${instance}-agent`,
});

export function agentServiceAccount(o: Placement): k8s.types.input.core.v1.ServiceAccount {
  return {
    metadata: {
      name: agentNames(o.instance).serviceAccount,
      namespace: o.namespace,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    automountServiceAccountToken: true,
  };
}

/** The token every agent API call carries; from the `fos1:agentToken` secret config, stored as a Pulumi secret. */
export function agentTokenSecret(o: Placement, token: pulumi.Input<string>): k8s.types.input.core.v1.Secret {
  return {
    metadata: {
      name: agentNames(o.instance).tokenSecret,
      namespace: o.namespace,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    type: "Opaque",
    stringData: { [TOKEN_KEY]: token },
  };
}

/** Every node's agent config file; the pod picks `<its node>.yaml`. */
export function agentConfigMap(o: AgentOptions): k8s.types.input.core.v1.ConfigMap {
  return {
    metadata: {
      name: agentNames(o.instance).config,
      namespace: o.namespace,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    data: renderAgentConfigs(o.site, o.port, o.mirrorInterface, o.engines),
  };
}

/**
 * The agent writes Kubernetes Events on the pods alerts are about, in their
 * own namespaces, and finds them by address: it reads pods and writes events
 * cluster-wide, and nothing else.
 */
export function agentClusterRole(o: Placement): k8s.types.input.rbac.v1.ClusterRole {
  return {
    metadata: {
      name: `${o.instance}-agent`,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    ],
  };
}

export function agentClusterRoleBinding(o: Placement): k8s.types.input.rbac.v1.ClusterRoleBinding {
  const names = agentNames(o.instance);
  return {
    metadata: {
      name: `${o.instance}-agent`,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${o.instance}-agent` },
    subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace: o.namespace }],
  };
}

/**
 * The eBPF loader and node agent on every router node. Host network: it
 * programs the host's interfaces and serves its API on the node address the
 * site config lists (`spec.nodes[].agent.url`), which is how Pulumi (from CI
 * with a route to the routers) and the controller reach it. Kubernetes node
 * names are the site's node names. bpffs keeps pinned maps and the state
 * directory keeps programs across restarts; /run/fos1 is where sensors leave
 * their events.
 */
export function agentDaemonSet(o: AgentOptions): k8s.types.input.apps.v1.DaemonSet {
  const names = agentNames(o.instance);
  const probe = (path: string, periodSeconds: number) => ({
    httpGet: { path, port: "api", scheme: "HTTPS" },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold: 3,
  });
  return {
    metadata: {
      name: names.daemonSet,
      namespace: o.namespace,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    spec: {
      selector: { matchLabels: selectorLabels(AGENT_COMPONENT, o.instance) },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: standardLabels(AGENT_COMPONENT, o.instance) },
        spec: {
          serviceAccountName: names.serviceAccount,
          hostNetwork: true,
          dnsPolicy: "ClusterFirstWithHostNet",
          priorityClassName: "system-node-critical",
          tolerations: [{ operator: "Exists" }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: "kubernetes.io/hostname", operator: "In", values: [...o.nodes] },
                    ],
                  },
                ],
              },
            },
          },
          containers: [
            {
              name: "agent",
              image: o.image,
              args: ["--config", `${AGENT_PATHS.configDir}/$(FOS1_NODE_NAME).yaml`],
              env: [{ name: "FOS1_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
              ports: [{ name: "api", containerPort: o.port, protocol: "TCP" }],
              livenessProbe: probe("/healthz", 10),
              readinessProbe: probe("/readyz", 5),
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "1", memory: "512Mi" },
              },
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { add: [...AGENT_CAPABILITIES], drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "bpffs", mountPath: "/sys/fs/bpf", mountPropagation: "HostToContainer" },
                { name: "run-fos1", mountPath: "/run/fos1" },
                { name: "state", mountPath: AGENT_PATHS.stateDir },
                { name: "config", mountPath: AGENT_PATHS.configDir, readOnly: true },
                { name: "tls", mountPath: AGENT_PATHS.tlsDir, readOnly: true },
                { name: "token", mountPath: AGENT_PATHS.tokenDir, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "bpffs", hostPath: { path: "/sys/fs/bpf", type: "DirectoryOrCreate" } },
            { name: "run-fos1", hostPath: { path: "/run/fos1", type: "DirectoryOrCreate" } },
            { name: "state", hostPath: { path: AGENT_PATHS.stateDir, type: "DirectoryOrCreate" } },
            { name: "config", configMap: { name: names.config } },
            { name: "tls", secret: { secretName: o.tlsSecretName } },
            { name: "token", secret: { secretName: names.tokenSecret } },
          ],
        },
      },
    },
  };
}

/** Headless: one endpoint per agent, for Prometheus to scrape each node's /metrics. */
export function agentService(o: AgentOptions): k8s.types.input.core.v1.Service {
  return {
    metadata: {
      name: agentNames(o.instance).service,
      namespace: o.namespace,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    spec: {
      clusterIP: "None",
      selector: selectorLabels(AGENT_COMPONENT, o.instance),
      ports: [{ name: "api", port: o.port, targetPort: "api", protocol: "TCP" }],
    },
  };
}
