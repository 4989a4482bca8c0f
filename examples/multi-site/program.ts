import * as pulumi from "@pulumi/pulumi";
import { AppRoutingPolicy, DpiSensor, FirewallFastPath, QosPolicy, type SiteInput } from "../../index";
import { FLEET_POLICIES, type FleetPolicies } from "./policies";

export interface SiteOutputs {
  readonly namespace: pulumi.Output<string | undefined>;
  readonly programHashes: pulumi.Output<Record<string, Record<string, string>>>;
}

/**
 * One site: the four components with the fleet's policies. The site comes
 * from the stack config `fos1:site` unless given (the benchmark builds many
 * sites in one program); `prefix` keeps such sites' resource names apart.
 */
export function siteProgram(
  policies: FleetPolicies = FLEET_POLICIES,
  site?: SiteInput,
  prefix = "",
): SiteOutputs {
  const sensors = new DpiSensor(`${prefix}sensors`, { spec: policies.sensor, site });
  const after = { dependsOn: [sensors] };
  const qos = new QosPolicy(
    `${prefix}qos`,
    { policyName: "default-qos-policy", spec: policies.qos, site },
    after,
  );
  const routing = new AppRoutingPolicy(
    `${prefix}routing`,
    { policyName: "application-routing", spec: policies.routing, site },
    after,
  );
  const edge = new FirewallFastPath(`${prefix}edge`, {
    policyName: "branch",
    fastPath: policies.fastPath,
    firewall: policies.firewall,
    site,
  });
  return {
    namespace: sensors.namespace,
    programHashes: pulumi
      .all([sensors.programHashes, qos.programHashes, routing.programHashes, edge.programHashes])
      .apply(([sensorHashes, qosHashes, routingHashes, edgeHashes]) => ({
        [sensors.programName]: sensorHashes,
        [qos.programName]: qosHashes,
        [routing.programName]: routingHashes,
        ...edgeHashes,
      })),
  };
}
