import { isIP } from "node:net";
import type { IpRule, NodeProgram, Route } from "../../../sdk/compile/node-program";
import type { IpFamily, IpRouteState, IpRuleState } from "../kernel/ip";
import { ConflictError, type ProgramDrift } from "./reconciler";

/**
 * The routing protocol number fos1 writes its rules and routes with, so that
 * reading back shows only its own (rt_protos leaves 250 unassigned).
 */
export const FOS1_RT_PROTO = 250;

export const IP_FAMILIES: readonly IpFamily[] = ["inet", "inet6"];

export interface DesiredIpRule {
  readonly program: string;
  readonly index: number;
  readonly rule: IpRule;
}

export interface DesiredRoute {
  readonly program: string;
  readonly index: number;
  readonly family: IpFamily;
  readonly route: Route;
}

export interface IpDesired {
  readonly rules: readonly DesiredIpRule[];
  readonly routes: readonly DesiredRoute[];
}

/** fos1's rules and routes as the kernel holds them (protocol FOS1_RT_PROTO only). */
export interface IpActual {
  readonly rules: readonly IpRuleState[];
  readonly routes: readonly IpRouteState[];
}

export const routeFamily = (route: Route): IpFamily => (isIP(route.via) === 6 ? "inet6" : "inet");

/** Rules and routes of all programs; a rule priority or a table's default route claimed twice is a conflict. */
export function desiredIp(programs: readonly NodeProgram[]): IpDesired {
  const ruleOwners = new Map<string, string>();
  const routeOwners = new Map<string, string>();
  const rules: DesiredIpRule[] = [];
  const routes: DesiredRoute[] = [];
  for (const program of programs) {
    const name = program.metadata.name;
    program.spec.ipRules.forEach((rule, index) => {
      const key = `${rule.family} ${rule.priority}`;
      const owner = ruleOwners.get(key);
      if (owner !== undefined) {
        throw new ConflictError(
          `spec.ipRules[${index}].priority`,
          `programs ${owner} and ${name} both claim the ${rule.family} ip rule at priority ${rule.priority}`,
        );
      }
      ruleOwners.set(key, name);
      rules.push({ program: name, index, rule });
    });
    program.spec.routes.forEach((route, index) => {
      const family = routeFamily(route);
      const key = `${family} ${route.table}`;
      const owner = routeOwners.get(key);
      if (owner !== undefined) {
        throw new ConflictError(
          `spec.routes[${index}].table`,
          `programs ${owner} and ${name} both claim the ${family} default route of table ${route.table}`,
        );
      }
      routeOwners.set(key, name);
      routes.push({ program: name, index, family, route });
    });
  }
  return { rules, routes };
}

const ruleMatches = (want: IpRule, have: IpRuleState) =>
  want.family === have.family &&
  want.priority === have.priority &&
  want.fwmark === have.fwmark &&
  want.mask === have.mask &&
  want.table === have.table;

const routeMatches = (want: DesiredRoute, have: IpRouteState) =>
  want.family === have.family &&
  want.route.table === have.table &&
  have.dst === "default" &&
  want.route.via === have.via &&
  want.route.dev === have.dev;

export function diffIp(desired: IpDesired, actual: IpActual): ProgramDrift[] {
  const drift: ProgramDrift[] = [];
  for (const { program, index, rule } of desired.rules) {
    if (actual.rules.some((r) => ruleMatches(rule, r))) continue;
    const path = `spec.ipRules[${index}]`;
    const near = actual.rules.find((r) => r.family === rule.family && r.priority === rule.priority);
    if (!near) {
      drift.push({ program, path, expected: rule, actual: null });
      continue;
    }
    for (const field of ["fwmark", "mask", "table"] as const) {
      if (near[field] !== rule[field]) {
        drift.push({ program, path: `${path}.${field}`, expected: rule[field], actual: near[field] ?? null });
      }
    }
  }
  for (const want of desired.routes) {
    if (actual.routes.some((r) => routeMatches(want, r))) continue;
    const { program, index, route } = want;
    const path = `spec.routes[${index}]`;
    const near = actual.routes.find(
      (r) => r.family === want.family && r.table === route.table && r.dst === "default",
    );
    if (!near) {
      drift.push({ program, path, expected: route, actual: null });
      continue;
    }
    for (const field of ["via", "dev"] as const) {
      if (near[field] !== route[field]) {
        drift.push({
          program,
          path: `${path}.${field}`,
          expected: route[field],
          actual: near[field] ?? null,
        });
      }
    }
  }
  return drift;
}

const proto = `proto ${FOS1_RT_PROTO}`;
const ruleSpec = (r: { priority: number; fwmark?: number; mask: number; table?: number }) =>
  [
    `priority ${r.priority}`,
    ...(r.fwmark === undefined ? [] : [`fwmark 0x${r.fwmark.toString(16)}/0x${r.mask.toString(16)}`]),
    ...(r.table === undefined ? [] : [`table ${r.table}`]),
    `protocol ${FOS1_RT_PROTO}`,
  ].join(" ");

/**
 * The `ip -batch` lines that make one family match: routes first (so a rule
 * never points at an empty table), new rules before the rules they replace are
 * removed (so a marked packet always finds one), stale routes last.
 */
export function ipCommands(desired: IpDesired, actual: IpActual, family: IpFamily): string[] {
  const wantRules = desired.rules.filter((r) => r.rule.family === family);
  const wantRoutes = desired.routes.filter((r) => r.family === family);
  const haveRules = actual.rules.filter((r) => r.family === family);
  const haveRoutes = actual.routes.filter((r) => r.family === family);
  const lines: string[] = [];
  for (const want of wantRoutes) {
    if (haveRoutes.some((r) => routeMatches(want, r))) continue;
    const { via, dev, table } = want.route;
    lines.push(`route replace default via ${via} dev ${dev} table ${table} ${proto}`);
  }
  for (const { rule } of wantRules) {
    if (!haveRules.some((r) => ruleMatches(rule, r))) lines.push(`rule add ${ruleSpec(rule)}`);
  }
  for (const have of haveRules) {
    if (!wantRules.some(({ rule }) => ruleMatches(rule, have))) lines.push(`rule del ${ruleSpec(have)}`);
  }
  for (const have of haveRoutes) {
    const replaced = wantRoutes.some((w) => w.route.table === have.table && have.dst === "default");
    if (!replaced) lines.push(`route del ${have.dst} table ${have.table} ${proto}`);
  }
  return lines;
}
