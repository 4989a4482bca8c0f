import { PolicyPack } from "@pulumi/policy";
import { blockTtlBounded } from "./policies/block-ttl-bounded";
import { fastPathCriticalZones } from "./policies/fast-path-critical-zones";
import { qosClassDscp } from "./policies/qos-class-dscp";
import { sensorResourceLimits } from "./policies/sensor-resource-limits";

/**
 * The rules a security team enforces on every fos1-dpi stack:
 * `pulumi preview --policy-pack policy-pack` (or publish it to the organisation).
 */
new PolicyPack("fos1-dpi", {
  policies: [sensorResourceLimits, fastPathCriticalZones, qosClassDscp, blockTtlBounded],
});
