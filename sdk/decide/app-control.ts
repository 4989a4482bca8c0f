import type { RuntimeTables } from "../compile/node-program";

type Firewall = NonNullable<RuntimeTables["firewall"]>;
export type AppControlRule = Firewall["appControl"][number];

/**
 * The application-control rule that decides an application's flows from a
 * source segment: the first rule naming the application whose segments
 * (none = every segment) include the source's. `segmentId` undefined or 0: the
 * source is in no segment, so only rules without segments apply. The agent
 * (at classification), the kernel's deny map (at a first packet the
 * destination cache names) and `simulate` all decide with this.
 */
export function appControlRule(
  firewall: Firewall | undefined,
  segmentId: number | undefined,
  appId: number,
): AppControlRule | undefined {
  return firewall?.appControl.find(
    (rule) =>
      rule.apps.some((a) => a.appId === appId) &&
      (!rule.segmentIds ||
        (segmentId !== undefined && segmentId !== 0 && rule.segmentIds.includes(segmentId))),
  );
}
