import { resolveApplications } from "../apps";
import { DEFAULT_CLASS, type Priority, type QosPolicy, type QosPolicySpec } from "../schema/qos-policy";
import type { Site } from "../schema/site";
import { DEFAULT_CLASS_ID, MAP_NAMES as MAP } from "../abi/constants";
import type { MapEntry, TcClass, TcDevice } from "./node-program";

/** Every uplink's HTB tree has this major, so one skb->priority names the class on any uplink. */
export const HTB_MAJOR = 1;
const ROOT_MINOR = 0x1;
/** The default class's minor is the class_id the egress classifier falls back to. */
export const DEFAULT_CLASS_MINOR = DEFAULT_CLASS_ID;
const FIRST_CLASS_MINOR = 0x11;

/** HTB prio per policy priority. Best effort sits between medium and low, so `low` is a scavenger class. */
const HTB_PRIO: Record<Priority | "best-effort", number> = { high: 0, medium: 2, "best-effort": 3, low: 4 };

/** DSCP defaults of DESIGN.md by class name, then by priority for other names. */
const DSCP_BY_CLASS: Record<string, number> = {
  voip: 46,
  interactive: 34,
  web: 18,
  bulk: 8,
  [DEFAULT_CLASS]: 0,
};
const DSCP_BY_PRIORITY: Record<Priority, number> = { high: 34, medium: 18, low: 8 };

/** A class with no `min` (or 0%) is still guaranteed this much, so HTB never starves it outright. */
const FLOOR_PERCENT = 1;
/** Smallest rate HTB is given, in bits/s. */
const FLOOR_BPS = 1000;

/** One QoS class as the node sees it: identity, handle, DSCP, percentages. */
export interface ResolvedClass {
  readonly name: string;
  readonly classId: number;
  readonly dscp: number;
  readonly prio: number;
  readonly minPercent: number;
  readonly maxPercent: number;
  readonly apps: readonly { app: string; appId: number }[];
}

/**
 * The policy's classes with defaults applied, in policy order, plus the
 * default class (declared or implicit). Class ids are the HTB minor numbers:
 * default 0x10, then 0x11, 0x12, ... in declaration order.
 */
export function resolveClasses(spec: QosPolicySpec): ResolvedClass[] {
  const declared = spec.classes.filter((c) => c.name !== DEFAULT_CLASS);
  const explicitDefault = spec.classes.find((c) => c.name === DEFAULT_CLASS);
  const floors = declared.map((c) => Math.max(c.bandwidth?.min ?? 0, FLOOR_PERCENT));
  const taken = floors.reduce((a, b) => a + b, 0);
  const defaultMin = explicitDefault?.bandwidth?.min ?? Math.max(FLOOR_PERCENT, 100 - taken);

  const resolved: ResolvedClass[] = declared.map((c, i) => ({
    name: c.name,
    classId: FIRST_CLASS_MINOR + i,
    dscp: c.dscp ?? DSCP_BY_CLASS[c.name] ?? DSCP_BY_PRIORITY[c.priority],
    prio: HTB_PRIO[c.priority],
    minPercent: floors[i],
    maxPercent: c.bandwidth?.max ?? 100,
    apps: uniqueApps(c.applications ?? []),
  }));
  resolved.unshift({
    name: DEFAULT_CLASS,
    classId: DEFAULT_CLASS_MINOR,
    dscp: explicitDefault?.dscp ?? DSCP_BY_CLASS[DEFAULT_CLASS],
    prio: explicitDefault ? HTB_PRIO[explicitDefault.priority] : HTB_PRIO["best-effort"],
    minPercent: defaultMin,
    maxPercent: explicitDefault?.bandwidth?.max ?? 100,
    apps: uniqueApps(explicitDefault?.applications ?? []),
  });
  return resolved;
}

function uniqueApps(names: readonly string[]): { app: string; appId: number }[] {
  const apps = new Map<string, number>();
  for (const n of names) for (const app of resolveApplications(n) ?? []) apps.set(app.name, app.id);
  return [...apps].map(([app, appId]) => ({ app, appId }));
}

export function skbPriority(classId: number): number {
  return ((HTB_MAJOR << 16) | classId) >>> 0;
}

export function handle(major: number, minor?: number): string {
  return `${major.toString(16)}:${minor === undefined ? "" : minor.toString(16)}`;
}

/**
 * One HTB tree per shaped uplink. Rates are the class minimums, ceilings the
 * maximums, both as percentages of the uplink's bandwidth rounded down to whole
 * bits/s. When the floors given to min-less classes push the guaranteed sum past
 * the uplink, every guarantee is scaled down together so the tree stays valid.
 */
export function compileTcDevices(
  policy: QosPolicy,
  site: Site,
  nodeName: string,
  classes: ResolvedClass[],
): TcDevice[] {
  const node = site.spec.nodes.find((n) => n.name === nodeName);
  const shaped = policy.spec.uplinks ?? site.spec.uplinks.map((u) => u.name);
  const guaranteed = classes.reduce((sum, c) => sum + c.minPercent, 0);
  const scale = guaranteed > 100 ? 100 / guaranteed : 1;
  return site.spec.uplinks
    .filter((u) => shaped.includes(u.name))
    .map((uplink) => {
      const bw = uplink.bandwidth;
      const bps = (percent: number) => Math.max(FLOOR_BPS, Math.floor((bw * percent) / 100));
      const root: TcClass = {
        classid: handle(HTB_MAJOR, ROOT_MINOR),
        parent: handle(HTB_MAJOR),
        name: "root",
        rateBps: bw,
        ceilBps: bw,
        prio: 0,
        quantum: quantumFor(bw),
      };
      const leaves = classes.map((c): TcClass => {
        const ceil = bps(c.maxPercent);
        const rate = Math.min(bps(c.minPercent * scale), ceil);
        return {
          classid: handle(HTB_MAJOR, c.classId),
          parent: root.classid,
          name: c.name,
          rateBps: rate,
          ceilBps: ceil,
          prio: c.prio,
          quantum: quantumFor(rate),
        };
      });
      trimToBandwidth(leaves, bw);
      return {
        device: node?.interfaces?.[uplink.name] ?? uplink.interface,
        uplink: uplink.name,
        bandwidthBps: bw,
        defaultClass: handle(HTB_MAJOR, DEFAULT_CLASS_MINOR),
        classes: [root, ...leaves],
        leafQdisc: "fq_codel" as const,
      };
    });
}

/**
 * Rounding up to FLOOR_BPS on a slow uplink can push the guarantees past it;
 * the class with the largest guarantee gives the excess back.
 */
function trimToBandwidth(leaves: TcClass[], bandwidthBps: number): void {
  const excess = leaves.reduce((sum, c) => sum + c.rateBps, 0) - bandwidthBps;
  if (excess <= 0) return;
  const largest = leaves.reduce((a, b) => (b.rateBps > a.rateBps ? b : a));
  largest.rateBps = Math.max(FLOOR_BPS, largest.rateBps - excess);
  largest.quantum = quantumFor(largest.rateBps);
}

/** HTB's own rate/r2q rule with r2q 10, clamped to the range HTB accepts without warnings. */
function quantumFor(rateBps: number): number {
  return Math.min(200_000, Math.max(1514, Math.floor(rateBps / 8 / 10)));
}

/** Class id -> HTB handle and DSCP; application -> class id (only the `class_id` field of the app's policy entry). */
export function compileQosMaps(classes: ResolvedClass[]): Record<string, MapEntry[]> {
  return {
    [MAP.qosClasses]: classes
      .map((c) => ({
        key: { class_id: c.classId },
        value: { skb_priority: skbPriority(c.classId), dscp: c.dscp },
        note: `class ${c.name}`,
      }))
      .sort((a, b) => a.key.class_id - b.key.class_id),
    [MAP.appPolicy]: classes
      .flatMap((c) =>
        c.apps.map(({ app, appId }) => ({
          key: { app_id: appId },
          value: { class_id: c.classId },
          note: `${app} -> class ${c.name}`,
        })),
      )
      .sort((a, b) => a.key.app_id - b.key.app_id),
  };
}
