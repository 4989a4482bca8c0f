import type { FlowReport } from "./flow-report";

/** The decisions a policy change alters for a flow. */
export interface FlowChange {
  readonly flow: string;
  readonly app: string;
  readonly changes: readonly { field: DecisionField; before: string | number; after: string | number }[];
}

export const DECISION_FIELDS = ["class", "dscp", "uplink", "path", "verdict"] as const;
export type DecisionField = (typeof DECISION_FIELDS)[number];

/** Flows whose class, DSCP, uplink, path or verdict differ between two reports of the same capture. */
export function diffReports(before: readonly FlowReport[], after: readonly FlowReport[]): FlowChange[] {
  const old = new Map(before.map((f) => [f.flow, f]));
  return after.flatMap((f) => {
    const o = old.get(f.flow);
    if (!o) return [];
    const changes = DECISION_FIELDS.filter((field) => o[field] !== f[field]).map((field) => ({
      field,
      before: o[field],
      after: f[field],
    }));
    return changes.length ? [{ flow: f.flow, app: f.app, changes }] : [];
  });
}

export interface ClassSummary {
  readonly class: string;
  readonly dscp: number;
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
}

/** Per class: how many flows, packets and bytes a report put in it. */
export function summariseClasses(flows: readonly FlowReport[]): ClassSummary[] {
  const byClass = new Map<string, ClassSummary>();
  for (const f of flows) {
    const s = byClass.get(f.class) ?? { class: f.class, dscp: f.dscp, flows: 0, packets: 0, bytes: 0 };
    byClass.set(f.class, {
      ...s,
      flows: s.flows + 1,
      packets: s.packets + f.packets,
      bytes: s.bytes + f.bytes,
    });
  }
  return [...byClass.values()].sort((a, b) => a.class.localeCompare(b.class));
}
