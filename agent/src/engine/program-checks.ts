import type { NodeProgram } from "../../../sdk/compile/node-program";
import type { Problem } from "../../../sdk/schema/problem";
import type { AgentConfig } from "../config";
import type { Subsystem } from "../reconcile/reconciler";
import { mapSizes } from "../bpf/encoded-maps";

/** What a program is checked against beyond its schema: the node it is sent to. */
export interface NodeFacts {
  readonly node: string;
  readonly interfaces: AgentConfig["interfaces"];
}

/**
 * Checks a schema-valid program against this node: its node name, the
 * interfaces it names, and HTB rates that the uplink can carry. Every problem
 * is returned with its path, not only the first.
 */
export function checkProgram(program: NodeProgram, facts: NodeFacts): Problem[] {
  const problems: Problem[] = [];
  const { spec } = program;
  if (program.metadata.node !== facts.node) {
    problems.push({
      path: "metadata.node",
      message: `program is for node "${program.metadata.node}"; this agent programs "${facts.node}"`,
    });
  }
  const uplinks = facts.interfaces.uplinks;
  const uplinkDevices = new Set(Object.values(uplinks));
  const known = new Set([
    ...uplinkDevices,
    ...facts.interfaces.lan,
    ...(facts.interfaces.mirror ? [facts.interfaces.mirror] : []),
  ]);

  const devices = new Set<string>();
  spec.tc.forEach((device, i) => {
    const at = `spec.tc[${i}]`;
    const expected = uplinks[device.uplink];
    if (expected === undefined) {
      problems.push({ path: `${at}.uplink`, message: `no uplink "${device.uplink}" on this node` });
    } else if (expected !== device.device) {
      problems.push({
        path: `${at}.device`,
        message: `uplink "${device.uplink}" is interface "${expected}" on this node, not "${device.device}"`,
      });
    }
    if (devices.has(device.device)) {
      problems.push({ path: `${at}.device`, message: `"${device.device}" appears twice in spec.tc` });
    }
    devices.add(device.device);
    problems.push(...checkClasses(device, at));
  });

  spec.routes.forEach((route, i) => {
    if (!uplinkDevices.has(route.dev)) {
      problems.push({
        path: `spec.routes[${i}].dev`,
        message: `"${route.dev}" is not an uplink of this node`,
      });
    }
  });
  if (spec.config.mirror_interface !== undefined && !known.has(spec.config.mirror_interface)) {
    problems.push({
      path: "spec.config.mirror_interface",
      message: `"${spec.config.mirror_interface}" is not an interface of this node`,
    });
  }
  spec.runtime.fastPath?.criticalInterfaces.forEach((name, i) => {
    if (!known.has(name)) {
      problems.push({
        path: `spec.runtime.fastPath.criticalInterfaces[${i}]`,
        message: `"${name}" is not an interface of this node`,
      });
    }
  });
  return problems;
}

function checkClasses(device: NodeProgram["spec"]["tc"][number], at: string): Problem[] {
  const problems: Problem[] = [];
  const ids = new Set(device.classes.map((c) => c.classid));
  const majors = new Set(device.classes.map((c) => c.classid.split(":")[0] + ":"));
  const seen = new Set<string>();
  device.classes.forEach((c, j) => {
    const path = `${at}.classes[${j}]`;
    if (seen.has(c.classid))
      problems.push({ path: `${path}.classid`, message: `${c.classid} appears twice` });
    seen.add(c.classid);
    if (c.rateBps > device.bandwidthBps) {
      problems.push({
        path: `${path}.rateBps`,
        message: `${c.rateBps} bit/s exceeds the uplink's ${device.bandwidthBps} bit/s`,
      });
    }
    if (c.ceilBps > device.bandwidthBps) {
      problems.push({
        path: `${path}.ceilBps`,
        message: `${c.ceilBps} bit/s exceeds the uplink's ${device.bandwidthBps} bit/s`,
      });
    }
    if (c.rateBps > c.ceilBps) {
      problems.push({ path: `${path}.rateBps`, message: `rate ${c.rateBps} exceeds ceil ${c.ceilBps}` });
    }
    if (c.parent === c.classid || (!ids.has(c.parent) && !majors.has(c.parent))) {
      problems.push({ path: `${path}.parent`, message: `${c.parent} is neither the qdisc nor a class here` });
    }
  });
  if (!ids.has(device.defaultClass)) {
    problems.push({ path: `${at}.defaultClass`, message: `${device.defaultClass} is not a class here` });
  }
  return problems;
}

/**
 * The parts of a program this agent has no reconciler for. Accepting them
 * would report success for state the kernel never got, so such a PUT is
 * refused instead (422) until the subsystem is wired.
 */
export function unsupportedParts(program: NodeProgram, wired: ReadonlySet<Subsystem>): Problem[] {
  const problems: Problem[] = [];
  const { spec } = program;
  const missing = (subsystem: Subsystem, path: string) => {
    if (!wired.has(subsystem)) {
      problems.push({ path, message: `this agent has no ${subsystem} reconciler; it cannot apply this` });
    }
  };
  for (const [map, entries] of mapSizes(program)) {
    if (entries > 0) missing("maps", `spec.maps.${map}`);
  }
  if (Object.values(spec.config).some((v) => v !== undefined)) missing("maps", "spec.config");
  if (spec.nftables) missing("nftables", "spec.nftables");
  if (spec.tc.length > 0) missing("tc", "spec.tc");
  if (spec.ipRules.length > 0) missing("ip", "spec.ipRules");
  if (spec.routes.length > 0) missing("ip", "spec.routes");
  return problems;
}
