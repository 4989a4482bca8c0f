import { catalogApplicationName } from "./catalog-application";
import type { Engine } from "../schema/dpi-sensor";
import type { DpiEvent, EventApplication } from "./dpi-event";
import { prune } from "./flow-tuple";
import { severityFromRisk } from "./risk";

export type EventParts = Omit<DpiEvent, "severity">;

/**
 * The event with its severity derived from risk, and optional parts left out
 * when they say nothing. Built field by field in the model's order: this runs
 * once per sensor line.
 */
export function buildEvent(parts: EventParts): DpiEvent {
  const event: Record<string, unknown> = {
    engine: parts.engine,
    kind: parts.kind,
    sourceType: parts.sourceType,
    timestamp: parts.timestamp,
    flow: parts.flow,
  };
  if (parts.application !== undefined) event.application = prune(parts.application);
  event.risk = parts.risk;
  event.severity = severityFromRisk(parts.risk);
  if (parts.riskFactors?.length) event.riskFactors = parts.riskFactors;
  if (parts.signature !== undefined) event.signature = prune(parts.signature);
  if (parts.message !== undefined) event.message = parts.message;
  event.actionHint = parts.actionHint;
  if (parts.serverName !== undefined) event.serverName = parts.serverName;
  if (parts.dns !== undefined) event.dns = prune(parts.dns);
  setNonEmpty(event, "tls", parts.tls);
  setNonEmpty(event, "http", parts.http);
  setNonEmpty(event, "counters", parts.counters);
  event.extra = parts.extra;
  return event as DpiEvent;
}

function setNonEmpty(event: Record<string, unknown>, key: string, value: object | undefined): void {
  if (value === undefined) return;
  const pruned = prune(value);
  if (Object.keys(pruned).length > 0) event[key] = pruned;
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
