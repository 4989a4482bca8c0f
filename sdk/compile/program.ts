import { MAP_NAMES as MAP } from "../abi/constants";
import type { DpiSensor } from "../schema/dpi-sensor";
import type { Fos1Document } from "../schema/documents";
import type { FastPathPolicy } from "../schema/fast-path-policy";
import type { FirewallPolicy } from "../schema/firewall-policy";
import type { Problem } from "../schema/problem";
import type { QosPolicy } from "../schema/qos-policy";
import type { RoutingPolicy } from "../schema/routing-policy";
import type { Site } from "../schema/site";
import { checkAgainstSite } from "../schema/site-checks";
import { compileFastPath } from "./fast-path";
import { compileAppDeny, compileFirewallRuntime, compileNftRuleset } from "./firewall";
import { sealProgram, type NodeProgram, type NodeProgramSpec } from "./node-program";
import { compileQosMaps, compileTcDevices, resolveClasses } from "./qos";
import { compileRoutingMaps, compileUplinkRouting, resolveUplinks, targetUplink } from "./routing";
import { compileSensor } from "./sensor";

/** The documents that compile to node programs (a Site is their context, not a program). */
export type PolicyDocument = QosPolicy | RoutingPolicy | FastPathPolicy | FirewallPolicy | DpiSensor;

const PROGRAM_PREFIX: Record<PolicyDocument["kind"], string> = {
  QoSPolicy: "qos",
  RoutingPolicy: "routing",
  FastPathPolicy: "fastpath",
  FirewallPolicy: "firewall",
  DpiSensor: "sensor",
};

export function isPolicyDocument(doc: Fos1Document): doc is PolicyDocument {
  return doc.kind in PROGRAM_PREFIX;
}

/** The program's owner name on every node: `<kind>-<policy name>`. */
export function programName(doc: PolicyDocument): string {
  return `${PROGRAM_PREFIX[doc.kind]}-${doc.metadata.name}`;
}

function emptySpec(): NodeProgramSpec {
  return { config: {}, maps: {}, tc: [], ipRules: [], routes: [], runtime: {} };
}

/**
 * Compiles one validated policy for one node of a site. Pure and deterministic:
 * the same inputs give a byte-identical program (and hash). Throws on a policy
 * that does not fit the site; call `checkAgainstSite` first for a problem list.
 */
export function compileProgram(doc: PolicyDocument, site: Site, nodeName: string): NodeProgram {
  if (!site.spec.nodes.some((n) => n.name === nodeName))
    throw new Error(`site "${site.metadata.name}" has no node "${nodeName}"`);
  const spec = emptySpec();
  switch (doc.kind) {
    case "QoSPolicy": {
      const classes = resolveClasses(doc.spec);
      spec.tc = compileTcDevices(doc, site, nodeName, classes);
      spec.maps = compileQosMaps(classes);
      spec.runtime = { qos: { classes: classes.map((c) => ({ classId: c.classId, name: c.name })) } };
      break;
    }
    case "RoutingPolicy": {
      const uplinks = resolveUplinks(site, nodeName);
      const used = new Set(doc.spec.rules.map((r) => targetUplink(site, uplinks, r.action.routeVia).name));
      Object.assign(spec, compileUplinkRouting(site, uplinks, used));
      spec.maps = compileRoutingMaps(doc, site, uplinks);
      spec.config = { fwmark_mask: site.spec.fwmarkMask };
      spec.runtime = {
        routing: {
          uplinks: uplinks
            .filter((u) => used.has(u.name))
            .map(({ name, mark, table, device }) => ({ name, mark, table, device })),
        },
      };
      break;
    }
    case "FastPathPolicy": {
      const fast = compileFastPath(doc);
      spec.maps = fast.maps;
      spec.config = fast.config;
      spec.runtime = { fastPath: fast.runtime };
      break;
    }
    case "FirewallPolicy": {
      const firewall = compileFirewallRuntime(doc, site);
      spec.nftables = compileNftRuleset(programName(doc));
      spec.runtime = { firewall };
      const deny = compileAppDeny(firewall, site);
      if (deny.length > 0) spec.maps = { [MAP.appDeny]: deny };
      break;
    }
    case "DpiSensor": {
      const sensor = compileSensor(doc);
      spec.maps = sensor.maps;
      spec.config = sensor.config;
      spec.runtime = { sensor: sensor.runtime };
      break;
    }
  }
  const metadata = {
    name: programName(doc),
    site: site.metadata.name,
    node: nodeName,
    source: { kind: doc.kind, name: doc.metadata.name },
  };
  return sealProgram(metadata, spec);
}

export interface SiteCompilation {
  /** One program per (policy, node), policies in input order, nodes in site order. */
  readonly programs: NodeProgram[];
  /** Problems that stop compilation, with the index of the policy in the input. */
  readonly problems: (Problem & { readonly document: number })[];
}

/**
 * Compiles a policy set for every node of a site, after checking what only the
 * set as a whole can show: names the site must define, and policies that would
 * fight over the same kernel state (two QoS trees on one uplink, two route
 * tables, two node-wide settings of the same kind).
 */
export function compileSite(docs: readonly PolicyDocument[], site: Site): SiteCompilation {
  const problems: (Problem & { document: number })[] = [];
  docs.forEach((doc, i) => problems.push(...checkAgainstSite(doc, site).map((p) => ({ ...p, document: i }))));

  const seen = new Map<string, number>();
  const shapedBy = new Map<string, string>();
  docs.forEach((doc, i) => {
    const name = programName(doc);
    if (seen.has(name))
      problems.push({
        document: i,
        path: "metadata.name",
        message: `a ${doc.kind} named "${doc.metadata.name}" is already in the set`,
      });
    seen.set(name, i);
    if (doc.kind === "QoSPolicy") {
      for (const uplink of doc.spec.uplinks ?? site.spec.uplinks.map((u) => u.name)) {
        const other = shapedBy.get(uplink);
        if (other)
          problems.push({
            document: i,
            path: "spec.uplinks",
            message: `uplink "${uplink}" is already shaped by QoSPolicy "${other}"`,
          });
        shapedBy.set(uplink, doc.metadata.name);
      }
    } else {
      const first = docs.findIndex((d) => d.kind === doc.kind);
      if (first !== i) {
        problems.push({
          document: i,
          path: "kind",
          message: `a site takes one ${doc.kind}; "${docs[first].metadata.name}" is already in the set (merge them)`,
        });
      }
    }
  });
  if (problems.length > 0) return { programs: [], problems };
  const programs = docs.flatMap((doc) => site.spec.nodes.map((node) => compileProgram(doc, site, node.name)));
  return { programs, problems };
}
