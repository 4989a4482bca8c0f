import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { AppRoutingPolicy, DpiSensor, FirewallFastPath, QosPolicy, type SiteInput } from "../../index";

interface ParsedDocument {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: never;
}

/**
 * The four components on the branch site, fed the YAML documents the CLI and
 * kubectl read: each component takes a parsed document's `spec` as it is.
 */
function documentOf(file: string, kind: string): ParsedDocument {
  const text = readFileSync(join(__dirname, "..", file), "utf8");
  const found = parseAllDocuments(text)
    .map((doc) => doc.toJS() as ParsedDocument)
    .find((doc) => doc.kind === kind);
  if (!found) throw new Error(`examples/${file} has no ${kind}`);
  return found;
}

const site = documentOf("sites/branch.yaml", "Site") as unknown as SiteInput;
const sensor = documentOf("policies/fast-path.yaml", "DpiSensor");
const qos = documentOf("policies/design.yaml", "QoSPolicy");
const routing = documentOf("policies/design.yaml", "RoutingPolicy");
const fastPath = documentOf("policies/fast-path.yaml", "FastPathPolicy");
const firewall = documentOf("policies/fast-path.yaml", "FirewallPolicy");

const sensors = new DpiSensor(sensor.metadata.name, { spec: sensor.spec, site });
const afterSensors = { dependsOn: [sensors] };
const qosPolicy = new QosPolicy(qos.metadata.name, { spec: qos.spec, site }, afterSensors);
const routingPolicy = new AppRoutingPolicy(routing.metadata.name, { spec: routing.spec, site }, afterSensors);
const edge = new FirewallFastPath(fastPath.metadata.name, {
  policyName: "branch",
  fastPath: fastPath.spec,
  firewall: firewall.spec,
  site,
});

/** Stack outputs: where the sensors run and what every node was given. */
export const namespace = sensors.namespace;
export const sensorDaemonSets = sensors.sensorDaemonSets;
export const nodeStatus = {
  sensors: sensors.nodeStatus,
  qos: qosPolicy.nodeStatus,
  routing: routingPolicy.nodeStatus,
  edge: edge.nodeStatus,
};
