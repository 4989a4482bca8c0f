import type { ResourceValidationPolicy } from "@pulumi/policy";
import { MAP_NAMES } from "../../sdk/abi/constants";
import { nodeProgramOf } from "../node-program";

/** The zones and applications the security team keeps on the slow path on every site. */
export interface CriticalZonesConfig {
  /** Prefixes of critical zones: every fast-path program must list each of them as critical. */
  readonly criticalPrefixes: readonly string[];
  /** Interfaces of critical zones, likewise. */
  readonly criticalInterfaces: readonly string[];
  /** Applications no offload rule may name. */
  readonly sensitiveApplications: readonly string[];
}

/**
 * The fast path is never opted in for critical zones: a program that lets
 * flows be offloaded must keep every critical prefix and interface the team
 * names on the slow path, and may not offload a sensitive application.
 * Programs that offload nothing pass: default-deny already holds.
 */
export const fastPathCriticalZones: ResourceValidationPolicy = {
  name: "fast-path-critical-zones",
  description:
    "Fast-path programs keep the security team's critical zones and sensitive applications on the slow path.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      criticalPrefixes: { type: "array", items: { type: "string" }, default: [] },
      criticalInterfaces: { type: "array", items: { type: "string" }, default: [] },
      sensitiveApplications: { type: "array", items: { type: "string" }, default: [] },
    },
  },
  validateResource: (args, reportViolation) => {
    const program = nodeProgramOf(args);
    const fastPath = program?.spec.runtime.fastPath;
    if (!program || !fastPath || fastPath.offload.every((rule) => rule.apps.length === 0)) return;
    const config = args.getConfig<CriticalZonesConfig>();
    const where = `program ${program.metadata.name} on node ${program.metadata.node}`;
    const critical = new Set((program.spec.maps[MAP_NAMES.critical] ?? []).map((e) => String(e.key.prefix)));
    for (const prefix of config.criticalPrefixes) {
      if (!critical.has(prefix))
        reportViolation(
          `${where}: spec.maps.${MAP_NAMES.critical}: critical zone ${prefix} is not kept on the slow path`,
        );
    }
    for (const dev of config.criticalInterfaces) {
      if (!fastPath.criticalInterfaces.includes(dev))
        reportViolation(
          `${where}: spec.runtime.fastPath.criticalInterfaces: interface ${dev} is not kept on the slow path`,
        );
    }
    const sensitive = new Set(config.sensitiveApplications);
    fastPath.offload.forEach((rule, i) =>
      rule.apps.forEach((app, j) => {
        if (sensitive.has(app.app))
          reportViolation(
            `${where}: spec.runtime.fastPath.offload[${i}].apps[${j}]: sensitive application ${app.app} may not be offloaded`,
          );
      }),
    );
  },
};
