import type { ResourceValidationPolicy } from "@pulumi/policy";
import { MAP_NAMES } from "../../sdk/abi/constants";
import { nodeProgramOf } from "../node-program";

/**
 * Every QoS class marks its packets: a class the program shapes must have
 * its entry in the class map with a DSCP, so the network past the router
 * keeps treating the traffic as the policy intends.
 */
export const qosClassDscp: ResourceValidationPolicy = {
  name: "qos-class-dscp",
  description: "Every QoS class a program shapes carries a DSCP mark.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const program = nodeProgramOf(args);
    const classes = program?.spec.runtime.qos?.classes;
    if (!program || !classes) return;
    const marks = new Map(
      (program.spec.maps[MAP_NAMES.qosClasses] ?? []).map((e) => [Number(e.key.class_id), e.value.dscp]),
    );
    classes.forEach((c, i) => {
      const dscp = marks.get(c.classId);
      if (typeof dscp !== "number" || dscp < 0 || dscp > 63) {
        reportViolation(
          `program ${program.metadata.name} on node ${program.metadata.node}: spec.runtime.qos.classes[${i}]: class ${c.name} has no DSCP`,
        );
      }
    });
  },
};
