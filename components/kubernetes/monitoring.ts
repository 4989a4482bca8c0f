import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../../sdk/compile/canonical";
import { selectorLabels, standardLabels } from "../base/labels";
import { AGENT_COMPONENT, agentNames, TOKEN_KEY } from "./agent";
import type { Placement } from "./manifest-types";

/** A Prometheus Operator ServiceMonitor, as a plain object (no CRD types ship with @pulumi/kubernetes). */
export interface ServiceMonitorManifest {
  readonly apiVersion: "monitoring.coreos.com/v1";
  readonly kind: "ServiceMonitor";
  readonly metadata: k8s.types.input.meta.v1.ObjectMeta;
  readonly spec: Record<string, unknown>;
}

/** Scrapes every agent's /metrics over HTTPS with the agent token, verifying the agents' CA. */
export function agentServiceMonitor(
  o: Placement,
  tlsSecretName: pulumi.Input<string>,
): ServiceMonitorManifest {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: {
      name: `${o.instance}-agent`,
      namespace: o.namespace,
      labels: standardLabels(AGENT_COMPONENT, o.instance),
    },
    spec: {
      selector: { matchLabels: selectorLabels(AGENT_COMPONENT, o.instance) },
      endpoints: [
        {
          port: "api",
          path: "/metrics",
          scheme: "https",
          interval: "30s",
          authorization: {
            type: "Bearer",
            credentials: { name: agentNames(o.instance).tokenSecret, key: TOKEN_KEY },
          },
          tlsConfig: { ca: { secret: { name: tlsSecretName, key: "ca.crt" } } },
        },
      ],
    },
  };
}

/** Metric names the dashboard plots; the agent exports them (agent/src metrics). */
export const DASHBOARD_METRICS = {
  events: "fos1_dpi_events_total",
  blocks: "fos1_blocks_active",
  offloaded: "fos1_fastpath_flows_offloaded",
  classBytes: "fos1_qos_class_bytes_total",
  applies: "fos1_program_applies_total",
} as const;

function panel(id: number, title: string, expr: string, legend: string) {
  return {
    id,
    title,
    type: "timeseries",
    datasource: { type: "prometheus", uid: "${datasource}" },
    gridPos: { h: 8, w: 12, x: ((id - 1) % 2) * 12, y: Math.floor((id - 1) / 2) * 8 },
    targets: [{ expr, legendFormat: legend, refId: "A" }],
  };
}

/** The Grafana dashboard JSON: events, blocks, offloaded flows, QoS class traffic, program applies per node. */
export function dashboardJson(): string {
  const m = DASHBOARD_METRICS;
  return canonicalJson(
    {
      title: "fos1-dpi",
      uid: "fos1-dpi",
      schemaVersion: 39,
      templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus" }] },
      panels: [
        panel(1, "DPI events by engine", `sum by (engine) (rate(${m.events}[5m]))`, "{{engine}}"),
        panel(2, "Active blocks", `sum by (node) (${m.blocks})`, "{{node}}"),
        panel(3, "Offloaded flows", `sum by (node) (${m.offloaded})`, "{{node}}"),
        panel(4, "QoS class throughput", `sum by (class) (rate(${m.classBytes}[5m]) * 8)`, "{{class}}"),
        panel(5, "Program applies", `sum by (node, result) (rate(${m.applies}[5m]))`, "{{node}} {{result}}"),
      ],
    },
    2,
  );
}

/** Picked up by Grafana's dashboard sidecar through the `grafana_dashboard` label. */
export function dashboardConfigMap(o: Placement): k8s.types.input.core.v1.ConfigMap {
  return {
    metadata: {
      name: `${o.instance}-dashboard`,
      namespace: o.namespace,
      labels: { ...standardLabels("fos1-dashboard", o.instance), grafana_dashboard: "1" },
    },
    data: { "fos1-dpi.json": dashboardJson() + "\n" },
  };
}
