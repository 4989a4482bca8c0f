import type * as k8s from "@pulumi/kubernetes";
import type { DpiSensorSpec, Engine } from "../../sdk/schema/dpi-sensor";
import { selectorLabels, standardLabels } from "../base/labels";
import type { Placement } from "./manifest-types";
import {
  configHash,
  EVENTS_DIR,
  NDPI_EVENTS_FILE,
  renderSensorConfig,
  SENSOR_CONFIG_DIR,
  SURICATA_RULES_DIR,
  type ConfigFiles,
} from "./sensor-config";
import { sensorResources } from "./sizing";

/** Capture on the mirror interface (af-packet, pcap) needs these two; nothing else is added. */
export const SENSOR_CAPABILITIES = ["NET_RAW", "NET_ADMIN"] as const;

export const sensorComponent = (engine: Engine) => `fos1-sensor-${engine}`;

export interface SensorOptions extends Placement {
  readonly engine: Engine;
  readonly spec: DpiSensorSpec;
  readonly image: string;
  readonly nodes: readonly string[];
  readonly serviceAccountName: string;
}

/** User of the Suricata image that fetches rules: downloading needs no privilege, so it gets none. */
export const SURICATA_RULES_UID = 10001;
/** The operator's Secret holding nProbe's licence (`nprobe.license`); nProbe does not start without it. */
export const nprobeLicenseSecretName = (instance: string) => `${instance}-nprobe-license`;
export const NPROBE_LICENSE_KEY = "nprobe.license";
/** Where the licence Secret is mounted; the image links `/etc/nprobe.license` here. */
export const NPROBE_LICENSE_DIR = "/etc/fos1/nprobe-license";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

const mirrorEnv = (spec: DpiSensorSpec) => [{ name: "FOS1_MIRROR_INTERFACE", value: spec.mirrorInterface }];

/**
 * How each engine starts: the images' entrypoints take the mirror interface
 * from the environment and their configuration from the ConfigMap mounted at
 * SENSOR_CONFIG_DIR; the nDPI image's entrypoint is the sensor itself.
 */
const START: Record<Engine, (spec: DpiSensorSpec) => Pick<Container, "command" | "args" | "env">> = {
  suricata: (spec) => ({ args: ["run"], env: mirrorEnv(spec) }),
  zeek: (spec) => ({ env: mirrorEnv(spec) }),
  nprobe: (spec) => ({ env: mirrorEnv(spec) }),
  ndpi: () => ({
    command: [
      "/bin/sh",
      "-c",
      // stdout for log pipelines, and a copy in the events directory for the agent.
      `. ${SENSOR_CONFIG_DIR}/sensor.env && exec fos1-ndpi-sensor -i "$FOS1_MIRROR_INTERFACE" \${FOS1_BPF_FILTER:+--bpf-filter "$FOS1_BPF_FILTER"} | tee -a ${NDPI_EVENTS_FILE}`,
    ],
  }),
};

/** Volumes an engine needs beyond its config, events directory and scratch space. */
function engineVolumes(o: SensorOptions): { mounts: VolumeMount[]; volumes: Volume[] } {
  if (o.engine === "suricata") {
    return {
      mounts: [{ name: "rules", mountPath: SURICATA_RULES_DIR, readOnly: true }],
      volumes: [{ name: "rules", emptyDir: {} }],
    };
  }
  if (o.engine === "nprobe") {
    return {
      mounts: [{ name: "license", mountPath: NPROBE_LICENSE_DIR, readOnly: true }],
      // Optional, so a missing licence is the entrypoint's clear refusal in the pod log rather than a pod stuck creating.
      volumes: [
        { name: "license", secret: { secretName: nprobeLicenseSecretName(o.instance), optional: true } },
      ],
    };
  }
  return { mounts: [], volumes: [] };
}

/**
 * Suricata's rules, fetched before it starts by the image's `fetch-rules`
 * step: pinned archives only (sha256 checked), merged by suricata-update.
 * It alone needs the network beyond the node, and runs unprivileged.
 */
function fetchRulesContainer(o: SensorOptions): Container {
  return {
    name: "fetch-rules",
    image: o.image,
    args: ["fetch-rules"],
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: SURICATA_RULES_UID,
      runAsGroup: SURICATA_RULES_UID,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: "config", mountPath: SENSOR_CONFIG_DIR, readOnly: true },
      { name: "rules", mountPath: SURICATA_RULES_DIR },
      { name: "tmp", mountPath: "/tmp" },
    ],
  };
}

interface RenderedConfig {
  readonly files: Readonly<ConfigFiles>;
  readonly hash: string;
}

/**
 * Rendered once per validated spec and engine: the ConfigMap holds the files
 * and the DaemonSet names them by hash, and rendering Suricata's YAML is the
 * costliest part of a DpiSensor.
 */
const renderedBySpec = new WeakMap<DpiSensorSpec, Map<Engine, RenderedConfig>>();

function renderedConfig(o: Pick<SensorOptions, "engine" | "spec">): RenderedConfig {
  let byEngine = renderedBySpec.get(o.spec);
  if (byEngine === undefined) {
    byEngine = new Map();
    renderedBySpec.set(o.spec, byEngine);
  }
  let rendered = byEngine.get(o.engine);
  if (rendered === undefined) {
    const files = Object.freeze(renderSensorConfig(o.engine, o.spec));
    rendered = { files, hash: configHash(files) };
    byEngine.set(o.engine, rendered);
  }
  return rendered;
}

export function sensorConfigMapName(o: Pick<SensorOptions, "engine" | "spec" | "instance">): string {
  return `${o.instance}-${o.engine}-${renderedConfig(o).hash}`;
}

/** Immutable and content-named: a configuration change is a new ConfigMap, never an edit in place. */
export function sensorConfigMap(o: SensorOptions): k8s.types.input.core.v1.ConfigMap {
  return {
    metadata: {
      name: sensorConfigMapName(o),
      namespace: o.namespace,
      labels: standardLabels(sensorComponent(o.engine), o.instance),
    },
    immutable: true,
    data: { ...renderedConfig(o).files },
  };
}

export function sensorDaemonSet(o: SensorOptions): k8s.types.input.apps.v1.DaemonSet {
  const component = sensorComponent(o.engine);
  const configMap = sensorConfigMapName(o);
  const resources = sensorResources(o.spec.expectedThroughput);
  const extra = engineVolumes(o);
  return {
    metadata: {
      name: `${o.instance}-${o.engine}`,
      namespace: o.namespace,
      labels: standardLabels(component, o.instance),
    },
    spec: {
      selector: { matchLabels: selectorLabels(component, o.instance) },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: {
          labels: standardLabels(component, o.instance),
          annotations: { "fos1.io/config": configMap },
        },
        spec: {
          serviceAccountName: o.serviceAccountName,
          automountServiceAccountToken: false,
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
          initContainers: o.engine === "suricata" ? [fetchRulesContainer(o)] : [],
          containers: [
            {
              name: o.engine,
              image: o.image,
              ...START[o.engine](o.spec),
              resources: { requests: { ...resources.requests }, limits: { ...resources.limits } },
              // Root in the container, because capture capabilities reach only uid 0 under
              // allowPrivilegeEscalation: false; these two are all it keeps.
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { add: [...SENSOR_CAPABILITIES], drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "config", mountPath: SENSOR_CONFIG_DIR, readOnly: true },
                { name: "events", mountPath: EVENTS_DIR },
                { name: "tmp", mountPath: "/tmp" },
                ...extra.mounts,
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: configMap } },
            { name: "events", hostPath: { path: EVENTS_DIR, type: "DirectoryOrCreate" } },
            { name: "tmp", emptyDir: {} },
            ...extra.volumes,
          ],
        },
      },
    },
  };
}

export const sensorServiceAccountName = (instance: string) => `${instance}-sensor`;

/** Sensors call no Kubernetes API: their account exists only so they do not run as `default`. */
export function sensorServiceAccount(o: Placement): k8s.types.input.core.v1.ServiceAccount {
  return {
    metadata: {
      name: sensorServiceAccountName(o.instance),
      namespace: o.namespace,
      labels: standardLabels("fos1-sensor", o.instance),
    },
    automountServiceAccountToken: false,
  };
}
