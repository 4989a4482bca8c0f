import { isIP } from "node:net";
import { resolveApplications } from "../apps";
import { DEFAULT_INTERNET, type RoutingPolicy } from "../schema/routing-policy";
import { uplinkMarks, uplinkTables, type Site } from "../schema/site";
import { MAP_NAMES as MAP } from "../abi/constants";
import type { IpRule, MapEntry, Route } from "./node-program";

/** ip rule priorities of uplink tables: before `main` (32766), after `local` (0). */
export const IP_RULE_BASE_PRIORITY = 1000;
/** segment_id / app_id 0 in a route key means "any". */
const ANY = 0;

export interface UplinkRoute {
  readonly name: string;
  readonly mark: number;
  readonly table: number;
  readonly device: string;
  readonly gateway: string;
}

/** The site's uplinks with tables, marks and this node's interface names resolved. */
export function resolveUplinks(site: Site, nodeName: string): UplinkRoute[] {
  const node = site.spec.nodes.find((n) => n.name === nodeName);
  const tables = uplinkTables(site.spec.uplinks);
  const marks = uplinkMarks(site.spec.uplinks, site.spec.fwmarkMask);
  return site.spec.uplinks.map((u, i) => ({
    name: u.name,
    mark: marks[i],
    table: tables[i],
    device: node?.interfaces?.[u.name] ?? u.interface,
    gateway: u.gateway,
  }));
}

/** Segment ids: position in the site's list, from 1 (0 means any). */
export function segmentIds(site: Site): Map<string, number> {
  return new Map(site.spec.segments.map((s, i) => [s.name, i + 1]));
}

export function targetUplink(site: Site, uplinks: UplinkRoute[], routeVia: string): UplinkRoute {
  const name =
    routeVia === DEFAULT_INTERNET && !uplinks.some((u) => u.name === DEFAULT_INTERNET)
      ? (site.spec.uplinks.find((u) => u.default) ?? site.spec.uplinks[0]).name
      : routeVia;
  const uplink = uplinks.find((u) => u.name === name);
  if (!uplink) throw new Error(`routeVia "${routeVia}" names no uplink of site "${site.metadata.name}"`);
  return uplink;
}

/**
 * The route decision as a lookup table the data plane can use at a flow's first
 * packet. First match wins in the policy; the eBPF program looks up
 * (segment, app), (segment, any), (any, app), (any, any) in that order. Emitting
 * the first-match result for every combination of a known segment and a named
 * application makes that fixed lookup order give exactly the policy's answer.
 */
export function compileRoutePolicy(policy: RoutingPolicy, site: Site, uplinks: UplinkRoute[]): MapEntry[] {
  const segments = segmentIds(site);
  const rules = policy.spec.rules.map((rule) => ({
    name: rule.name,
    appIds: rule.applications
      ? new Set(rule.applications.flatMap((n) => (resolveApplications(n) ?? []).map((a) => a.id)))
      : undefined,
    segmentId: rule.networkSegment ? segments.get(rule.networkSegment) : undefined,
    uplink: targetUplink(site, uplinks, rule.action.routeVia),
  }));
  const appNames = new Map<number, string>();
  for (const rule of policy.spec.rules) {
    for (const n of rule.applications ?? [])
      for (const app of resolveApplications(n) ?? []) appNames.set(app.id, app.name);
  }
  const segmentNames = new Map([...segments].map(([n, id]) => [id, n]));

  const entries: MapEntry[] = [];
  for (const segmentId of [ANY, ...segments.values()]) {
    for (const appId of [ANY, ...[...appNames.keys()].sort((a, b) => a - b)]) {
      const winner = rules.find(
        (r) =>
          (r.appIds === undefined || r.appIds.has(appId)) &&
          (r.segmentId === undefined || r.segmentId === segmentId),
      );
      if (!winner) continue;
      const who = `${segmentId === ANY ? "any segment" : `segment ${segmentNames.get(segmentId)}`}, ${appId === ANY ? "any app" : appNames.get(appId)}`;
      entries.push({
        key: { segment_id: segmentId, app_id: appId },
        value: { mark: winner.uplink.mark },
        note: `${who} -> ${winner.uplink.name} (rule ${winner.name})`,
      });
    }
  }
  return entries;
}

/** Source prefix -> segment id, for the first-packet route decision. */
export function compileSegments(site: Site): MapEntry[] {
  const ids = segmentIds(site);
  return site.spec.segments
    .flatMap((s) =>
      s.prefixes.map((prefix) => ({
        key: { prefix },
        value: { id: ids.get(s.name) ?? 0 },
        note: `segment ${s.name}`,
      })),
    )
    .sort((a, b) => String(a.key.prefix).localeCompare(String(b.key.prefix)));
}

/** A table and an fwmark rule per uplink that some rule routes to, for each address family its gateway has. */
export function compileUplinkRouting(
  site: Site,
  uplinks: UplinkRoute[],
  used: Set<string>,
): { ipRules: IpRule[]; routes: Route[] } {
  const ipRules: IpRule[] = [];
  const routes: Route[] = [];
  uplinks.forEach((u, i) => {
    if (!used.has(u.name)) return;
    const family = isIP(u.gateway) === 6 ? "inet6" : "inet";
    ipRules.push({
      priority: IP_RULE_BASE_PRIORITY + i,
      family,
      fwmark: u.mark,
      mask: site.spec.fwmarkMask,
      table: u.table,
    });
    routes.push({ table: u.table, to: "default", via: u.gateway, dev: u.device });
  });
  return { ipRules, routes };
}

export function compileRoutingMaps(
  policy: RoutingPolicy,
  site: Site,
  uplinks: UplinkRoute[],
): Record<string, MapEntry[]> {
  return {
    [MAP.routePolicy]: compileRoutePolicy(policy, site, uplinks),
    [MAP.segments]: compileSegments(site),
  };
}
