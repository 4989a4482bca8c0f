import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "../sdk/schema/site";
import { ComponentArgsError } from "./base/component-error";
import type { PolicyComponentArgs } from "./base/policy-component";
import {
  deployPrograms,
  validatePolicy,
  type NodeProgramStatus,
  type SpecInput,
} from "./base/policy-programs";
import { withoutPromiseStacks } from "./base/promise-stacks";
import { CONFIG_NAMESPACE, resolveSite } from "./base/site-source";
import {
  agentConfigMap,
  agentDaemonSet,
  agentClusterRole,
  agentClusterRoleBinding,
  agentService,
  agentServiceAccount,
  agentTokenSecret,
  type AgentOptions,
} from "./kubernetes/agent";
import {
  controllerClusterRole,
  controllerClusterRoleBinding,
  controllerDeployment,
  controllerLeaseRole,
  controllerLeaseRoleBinding,
  controllerServiceAccount,
  siteConfigMap,
} from "./kubernetes/controller";
import { CUSTOM_RESOURCE_KINDS, customResourceDefinition, type CustomResourceKind } from "./kubernetes/crds";
import { DEFAULT_IMAGES, type Images } from "./kubernetes/images";
import type { Placement } from "./kubernetes/manifest-types";
import { agentServiceMonitor, dashboardConfigMap } from "./kubernetes/monitoring";
import { namespaceManifest } from "./kubernetes/namespace";
import {
  sensorConfigMap,
  sensorDaemonSet,
  sensorServiceAccount,
  sensorServiceAccountName,
} from "./kubernetes/sensors";

/** Stack config key of the agent token (a secret): the agents require it on every API call. */
export const AGENT_TOKEN_KEY = "agentToken";

export interface DpiSensorArgs extends PolicyComponentArgs {
  /**
   * The DpiSensor spec: `engines` (suricata, zeek, nprobe, ndpi), which
   * workloads to inspect (`selector` or `prefixes`; default everything),
   * pinned `ruleSources`, `expectedThroughput` (sizes the sensors) and the
   * `mirrorInterface`. A plain value: the engines decide which DaemonSets exist.
   */
  readonly spec: SpecInput<"DpiSensor">;
  /**
   * Deploy the agent, sensors, controller, CRDs and monitoring to the
   * cluster of the current Kubernetes provider. Off for sites whose routers
   * are plain Linux hosts running the agent themselves: then only the agents are programmed.
   * @default true
   */
  readonly kubernetes?: boolean;
  /**
   * Namespace of the agent, sensors and controller.
   * @default "fos1-dpi"
   */
  readonly namespace?: string;
  /**
   * Create the namespace (with Pod Security labels) rather than use an existing one.
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Container images, by part.
   * @default the images of this release under ghcr.io/fos1
   */
  readonly images?: Partial<Images>;
  /**
   * Secret holding the agents' serving certificate (`tls.crt`, `tls.key`, `ca.crt`), e.g. from cert-manager.
   * @default "<name>-agent-tls"
   */
  readonly agentTlsSecretName?: pulumi.Input<string>;
  /**
   * Install the QoSPolicy and RoutingPolicy CRDs. One DpiSensor per cluster should.
   * @default true
   */
  readonly installCrds?: boolean;
  /**
   * Run the controller that programs policies applied with kubectl or GitOps.
   * @default true
   */
  readonly controller?: boolean;
  /**
   * Create a Prometheus Operator ServiceMonitor for the agents' /metrics.
   * @default true
   */
  readonly serviceMonitor?: boolean;
  /**
   * Create the Grafana dashboard ConfigMap (picked up by the `grafana_dashboard` label).
   * @default true
   */
  readonly dashboard?: boolean;
}

const TYPE = "fos1:dpi:DpiSensor";
/** Object names add up to 18 characters to the component name (`-controller-lease`); Kubernetes allows 63. */
const MAX_NAME = 45;

/**
 * Deep packet inspection for a site, after Calico's DeepPacketInspection:
 * the node agent (eBPF loader and API) and the chosen engines as DaemonSets
 * on the router nodes, with configuration in content-hashed ConfigMaps and
 * resources sized from the expected throughput; the controller, the policy
 * CRDs, a ServiceMonitor and a Grafana dashboard; and the sensor program
 * (which traffic is mirrored) on every agent.
 *
 * ```ts
 * new DpiSensor("sensors", { spec: { engines: ["ndpi", "suricata"], ruleSources: [etOpen], expectedThroughput: "2Gbit" } });
 * ```
 */
export class DpiSensor extends pulumi.ComponentResource {
  /** The agents' owner name of the sensor program (`sensor-<policyName>`). */
  readonly programName: string;
  /** Node name -> hash of the sensor program compiled for it. */
  readonly programHashes: pulumi.Output<Record<string, string>>;
  /** Node name -> what its agent reports (hash applied, time, drift count). */
  readonly nodeStatus: pulumi.Output<Record<string, NodeProgramStatus>>;
  /** Namespace of the deployed objects (undefined when `kubernetes` is off). */
  readonly namespace: pulumi.Output<string | undefined>;
  /** Engine -> sensor DaemonSet name. */
  readonly sensorDaemonSets: pulumi.Output<Record<string, string>>;
  /** Engine -> content-hashed ConfigMap name. */
  readonly sensorConfigMaps: pulumi.Output<Record<string, string>>;
  /** The agents' headless Service (one endpoint per node). */
  readonly agentServiceName: pulumi.Output<string | undefined>;

  constructor(name: string, args: DpiSensorArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, opts);
    const { programs, cluster } = withoutPromiseStacks(() => {
      const site = resolveSite(TYPE, name, args.site);
      const policyName = args.policyName ?? name;
      const document = validatePolicy({ type: TYPE, name }, "DpiSensor", policyName, args.spec, site);
      return {
        programs: deployPrograms(this, name, "program", "DpiSensor", policyName, document, site),
        cluster:
          (args.kubernetes ?? true) ? this.deployToCluster(name, args, site, document.spec) : undefined,
      };
    });
    this.programName = programs.programName;
    this.programHashes = programs.hashes;
    this.nodeStatus = programs.status;
    this.namespace = pulumi.output(cluster?.namespace);
    this.sensorDaemonSets = pulumi.output(cluster?.daemonSets ?? {});
    this.sensorConfigMaps = pulumi.output(cluster?.configMaps ?? {});
    this.agentServiceName = pulumi.output(cluster?.agentService);
    this.registerOutputs({
      programName: this.programName,
      programHashes: this.programHashes,
      nodeStatus: this.nodeStatus,
      namespace: this.namespace,
      sensorDaemonSets: this.sensorDaemonSets,
      sensorConfigMaps: this.sensorConfigMaps,
      agentServiceName: this.agentServiceName,
    });
  }

  private deployToCluster(
    name: string,
    args: DpiSensorArgs,
    site: Site,
    spec: Parameters<typeof sensorDaemonSet>[0]["spec"],
  ) {
    const fail = (path: string, message: string) => new ComponentArgsError(TYPE, name, [{ path, message }]);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > MAX_NAME) {
      throw fail(
        "name",
        `must be a DNS label of at most ${MAX_NAME} characters: it prefixes Kubernetes object names`,
      );
    }
    const token = new pulumi.Config(CONFIG_NAMESPACE).getSecret(AGENT_TOKEN_KEY);
    if (token === undefined) {
      throw fail(
        `${CONFIG_NAMESPACE}:${AGENT_TOKEN_KEY}`,
        `required: pulumi config set --secret ${CONFIG_NAMESPACE}:${AGENT_TOKEN_KEY} <token>`,
      );
    }
    const port = agentPort(site, fail);
    const images: Images = { ...DEFAULT_IMAGES, ...args.images };
    const namespaceName = args.namespace ?? "fos1-dpi";
    const parent = { parent: this };
    const namespace =
      (args.createNamespace ?? true)
        ? new k8s.core.v1.Namespace(`${name}-namespace`, namespaceManifest(namespaceName, name), parent)
            .metadata.name
        : pulumi.output(namespaceName);
    const at: Placement = { namespace, instance: name };
    const nodes = site.spec.nodes.map((n) => n.name);
    const tlsSecretName = args.agentTlsSecretName ?? `${name}-agent-tls`;
    const agent: AgentOptions = {
      ...at,
      image: images.agent,
      port,
      nodes,
      tlsSecretName,
      site,
      mirrorInterface: spec.mirrorInterface,
      engines: spec.engines,
    };

    new k8s.core.v1.ServiceAccount(`${name}-agent-service-account`, agentServiceAccount(at), parent);
    new k8s.core.v1.Secret(`${name}-agent-token`, agentTokenSecret(at, token), parent);
    new k8s.core.v1.ConfigMap(`${name}-agent-config`, agentConfigMap(agent), parent);
    new k8s.rbac.v1.ClusterRole(`${name}-agent-role`, agentClusterRole(at), parent);
    new k8s.rbac.v1.ClusterRoleBinding(`${name}-agent-role-binding`, agentClusterRoleBinding(at), parent);
    new k8s.apps.v1.DaemonSet(`${name}-agent`, agentDaemonSet(agent), parent);
    const service = new k8s.core.v1.Service(`${name}-agent-service`, agentService(agent), parent);

    new k8s.core.v1.ServiceAccount(`${name}-sensor-service-account`, sensorServiceAccount(at), parent);
    const daemonSets: Record<string, pulumi.Output<string>> = {};
    const configMaps: Record<string, pulumi.Output<string>> = {};
    for (const engine of spec.engines) {
      const sensor = {
        ...at,
        engine,
        spec,
        image: images[engine],
        nodes,
        serviceAccountName: sensorServiceAccountName(name),
      };
      const configMap = new k8s.core.v1.ConfigMap(
        `${name}-${engine}-config`,
        sensorConfigMap(sensor),
        parent,
      );
      const daemonSet = new k8s.apps.v1.DaemonSet(`${name}-${engine}`, sensorDaemonSet(sensor), {
        ...parent,
        dependsOn: [configMap],
      });
      configMaps[engine] = configMap.metadata.name;
      daemonSets[engine] = daemonSet.metadata.name;
    }

    if (args.installCrds ?? true) {
      for (const kind of Object.keys(CUSTOM_RESOURCE_KINDS) as CustomResourceKind[]) {
        new k8s.apiextensions.v1.CustomResourceDefinition(
          `${name}-crd-${CUSTOM_RESOURCE_KINDS[kind].singular}`,
          customResourceDefinition(kind, name),
          parent,
        );
      }
    }
    if (args.controller ?? true) {
      const controller = { ...at, image: images.agent, site, tlsSecretName };
      new k8s.core.v1.ServiceAccount(
        `${name}-controller-service-account`,
        controllerServiceAccount(at),
        parent,
      );
      new k8s.rbac.v1.ClusterRole(`${name}-controller-cluster-role`, controllerClusterRole(at), parent);
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-controller-cluster-role-binding`,
        controllerClusterRoleBinding(at),
        parent,
      );
      new k8s.rbac.v1.Role(`${name}-controller-lease-role`, controllerLeaseRole(at), parent);
      new k8s.rbac.v1.RoleBinding(
        `${name}-controller-lease-role-binding`,
        controllerLeaseRoleBinding(at),
        parent,
      );
      new k8s.core.v1.ConfigMap(`${name}-site`, siteConfigMap(controller), parent);
      new k8s.apps.v1.Deployment(`${name}-controller`, controllerDeployment(controller), parent);
    }
    if (args.serviceMonitor ?? true) {
      new k8s.apiextensions.CustomResource(
        `${name}-service-monitor`,
        agentServiceMonitor(at, tlsSecretName),
        parent,
      );
    }
    if (args.dashboard ?? true) {
      new k8s.core.v1.ConfigMap(`${name}-dashboard`, dashboardConfigMap(at), parent);
    }
    return {
      namespace,
      daemonSets: pulumi.all(daemonSets),
      configMaps: pulumi.all(configMaps),
      agentService: service.metadata.name,
    };
  }
}

/**
 * The port every agent listens on. A DaemonSet has one pod template, so all
 * nodes' agent URLs must use the same port.
 */
function agentPort(site: Site, fail: (path: string, message: string) => Error): number {
  const ports = site.spec.nodes.map((n) => Number(new URL(n.agent.url).port || 443));
  const mismatch = ports.findIndex((p) => p !== ports[0]);
  if (mismatch >= 0) {
    throw fail(
      `site.spec.nodes[${mismatch}].agent.url`,
      `port ${ports[mismatch]} differs from node ${site.spec.nodes[0].name}'s ${ports[0]}: in a cluster the agent DaemonSet listens on one port`,
    );
  }
  return ports[0];
}
