import { Counter, type Registry } from "prom-client";
import type { DpiEvent } from "../../../sdk/events";
import type { Decision } from "../../../sdk/decide";
import type { IngestSource } from "./ingest-source";

/** An event's application label: the catalog's name, else the engine's own, else `unknown`. */
function applicationLabel(event: DpiEvent): string {
  return event.application?.catalog ?? event.application?.engineName ?? "unknown";
}

/**
 * Prometheus counters for what sensors report and what the agent did about
 * it, created on the registry the agent passes in. Label sets stay bounded:
 * applications by the catalog and the engines' protocol lists, signatures by
 * the pinned rule set, verdicts by the decision kinds.
 */
export class IngestMetrics {
  readonly events: Counter<"engine" | "kind" | "application">;
  readonly alerts: Counter<"engine" | "signature_id" | "signature" | "severity">;
  readonly verdicts: Counter<"verdict" | "application">;
  private readonly sources = new Set<IngestSource>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.events = new Counter({
      name: "fos1_dpi_events_total",
      help: "DPI events ingested, by engine, event kind and application",
      labelNames: ["engine", "kind", "application"] as const,
      registers,
    });
    this.alerts = new Counter({
      name: "fos1_dpi_alerts_total",
      help: "Alerts, anomalies and notices, by engine and signature",
      labelNames: ["engine", "signature_id", "signature", "severity"] as const,
      registers,
    });
    this.verdicts = new Counter({
      name: "fos1_dpi_verdicts_total",
      help: "Runtime decisions taken on DPI events, by verdict (block, classify, offload, inspect, learn-destination) and application",
      labelNames: ["verdict", "application"] as const,
      registers,
    });
    const sources = this.sources;
    new Counter({
      name: "fos1_ingest_lines_total",
      help: "Sensor output lines per ingest source, by outcome (parsed, rejected, blank) and reject reason",
      labelNames: ["source", "outcome", "reason"] as const,
      registers,
      collect() {
        this.reset();
        for (const source of sources) {
          const { lines } = source.stats();
          this.inc({ source: source.name, outcome: "parsed", reason: "" }, lines.parsed);
          this.inc({ source: source.name, outcome: "blank", reason: "" }, lines.blank);
          for (const [reason, n] of Object.entries(lines.rejected)) {
            this.inc({ source: source.name, outcome: "rejected", reason }, n);
          }
        }
      },
    });
    new Counter({
      name: "fos1_ingest_sink_errors_total",
      help: "Batches an ingest source's sink refused (retried until accepted)",
      labelNames: ["source"] as const,
      registers,
      collect() {
        this.reset();
        for (const source of sources) this.inc({ source: source.name }, source.stats().sinkErrors);
      },
    });
    new Counter({
      name: "fos1_ingest_restarts_total",
      help: "Times an ingest source restarted its sensor process",
      labelNames: ["source"] as const,
      registers,
      collect() {
        this.reset();
        for (const source of sources) this.inc({ source: source.name }, source.stats().restarts);
      },
    });
  }

  /** Reports the source's line counts on every scrape from now on. */
  track(source: IngestSource): void {
    this.sources.add(source);
  }

  /** Counts one event and, where it is an alert, its signature. */
  countEvent(event: DpiEvent): void {
    this.events.inc({ engine: event.engine, kind: event.kind, application: applicationLabel(event) });
    if (event.signature && (event.kind === "alert" || event.kind === "anomaly" || event.kind === "notice")) {
      this.alerts.inc({
        engine: event.engine,
        signature_id: event.signature.id === undefined ? "" : String(event.signature.id),
        signature: event.signature.text,
        severity: event.severity,
      });
    }
  }

  /** Counts what decide() made of an event. */
  countDecisions(event: DpiEvent, decisions: readonly Decision[]): void {
    const application = applicationLabel(event);
    for (const decision of decisions) this.verdicts.inc({ verdict: decision.kind, application });
  }
}
