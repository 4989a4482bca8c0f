import type * as k8s from "@pulumi/kubernetes";
import type { DpiSensorSpec, Engine } from "../../sdk/schema/dpi-sensor";
import { selectorLabels, standardLabels } from "../base/labels";
import type { Placement } from "./manifest-types";
import { configHash, EVENTS_DIR, renderSensorConfig, type ConfigFiles } from "./sensor-config";
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

/** How each engine is started, with its ConfigMap mounted at `/etc/fos1-sensor`. */
const COMMANDS: Record<Engine, (spec: DpiSensorSpec) => string[]> = {
  suricata: (spec) => [
    "suricata",
    "-c",
    "/etc/fos1-sensor/suricata.yaml",
    `--af-packet=${spec.mirrorInterface}`,
  ],
  zeek: (spec) => ["zeek", "-C", "-i", `af_packet::${spec.mirrorInterface}`, "/etc/fos1-sensor/local.zeek"],
  nprobe: () => ["nprobe", "/etc/fos1-sensor/nprobe.conf"],
  ndpi: () => [
    "/bin/sh",
    "-c",
    // stdout for log pipelines, and a copy in the events directory for the agent.
    `. /etc/fos1-sensor/sensor.env && exec fos1-ndpi-sensor -i "$FOS1_MIRROR_INTERFACE" \${FOS1_BPF_FILTER:+--bpf-filter "$FOS1_BPF_FILTER"} | tee -a ${EVENTS_DIR}/ndpi.jsonl`,
  ],
};

export function sensorConfigFiles(o: Pick<SensorOptions, "engine" | "spec">): ConfigFiles {
  return renderSensorConfig(o.engine, o.spec);
}

export function sensorConfigMapName(o: Pick<SensorOptions, "engine" | "spec" | "instance">): string {
  return `${o.instance}-${o.engine}-${configHash(sensorConfigFiles(o))}`;
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
    data: { ...sensorConfigFiles(o) },
  };
}

export function sensorDaemonSet(o: SensorOptions): k8s.types.input.apps.v1.DaemonSet {
  const component = sensorComponent(o.engine);
  const configMap = sensorConfigMapName(o);
  const resources = sensorResources(o.spec.expectedThroughput);
  const security = {
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { add: [...SENSOR_CAPABILITIES], drop: ["ALL"] },
  };
  const rules = o.engine === "suricata";
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
          initContainers: rules
            ? [
                {
                  name: "fetch-rules",
                  image: o.image,
                  command: ["/bin/sh", "/etc/fos1-sensor/fetch-rules.sh"],
                  resources: {
                    requests: { cpu: "100m", memory: "128Mi" },
                    limits: { cpu: "1", memory: "512Mi" },
                  },
                  securityContext: { ...security, capabilities: { drop: ["ALL"] } },
                  volumeMounts: [
                    { name: "config", mountPath: "/etc/fos1-sensor", readOnly: true },
                    { name: "rules", mountPath: "/var/lib/suricata/rules" },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ]
            : [],
          containers: [
            {
              name: o.engine,
              image: o.image,
              command: COMMANDS[o.engine](o.spec),
              resources: { requests: { ...resources.requests }, limits: { ...resources.limits } },
              securityContext: security,
              volumeMounts: [
                { name: "config", mountPath: "/etc/fos1-sensor", readOnly: true },
                { name: "events", mountPath: EVENTS_DIR },
                { name: "tmp", mountPath: "/tmp" },
                ...(rules ? [{ name: "rules", mountPath: "/var/lib/suricata/rules", readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: configMap } },
            { name: "events", hostPath: { path: EVENTS_DIR, type: "DirectoryOrCreate" } },
            { name: "tmp", emptyDir: {} },
            ...(rules ? [{ name: "rules", emptyDir: {} }] : []),
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
