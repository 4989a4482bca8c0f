import { catalogApplicationName } from "./catalog-application";
import type { Engine } from "../schema/dpi-sensor";
import type { DpiEvent, EventApplication } from "./dpi-event";
import { prune } from "./flow-tuple";
import { severityFromRisk } from "./risk";

export type EventParts = Omit<DpiEvent, "severity">;

/** The event with its severity derived from risk, and optional parts left out when they say nothing. */
export function buildEvent(parts: EventParts): DpiEvent {
  return prune({
    ...parts,
    severity: severityFromRisk(parts.risk),
    application: parts.application && prune(parts.application),
    signature: parts.signature && prune(parts.signature),
    riskFactors: parts.riskFactors?.length ? parts.riskFactors : undefined,
    dns: parts.dns && prune(parts.dns),
    tls: nonEmpty(parts.tls),
    http: nonEmpty(parts.http),
    counters: nonEmpty(parts.counters),
  });
}

function nonEmpty<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  const pruned = prune(value);
  return Object.keys(pruned).length > 0 ? pruned : undefined;
}

/** The event's application for an engine's name, joined to the catalog where it can be. */
export function engineApplication(
  engine: Engine,
  engineName: string,
  serverName: string | undefined,
  details: { category?: string; confidence?: string } = {},
): EventApplication {
  return prune({ catalog: catalogApplicationName(engine, engineName, serverName), engineName, ...details });
}
