import type { Engine } from "../../../sdk/schema/dpi-sensor";
import { emptyLineStats, type LineStats } from "../../../sdk/events";
import type { IngestSourceStats } from "./ingest-source";

/** The mutable counts behind a source's stats(); the source's parts add to them. */
export class SourceCounters {
  readonly lines: LineStats = emptyLineStats();
  bytes = 0;
  events = 0;
  batches = 0;
  sinkErrors = 0;
  connections = 0;
  restarts = 0;
  files = 0;
  lastError: string | undefined;

  constructor(
    readonly source: string,
    readonly engine: Engine,
  ) {}

  /** A copy, so callers never see counts move under them. */
  snapshot(): IngestSourceStats {
    const snapshot: IngestSourceStats = {
      source: this.source,
      engine: this.engine,
      lines: { parsed: this.lines.parsed, rejected: { ...this.lines.rejected }, blank: this.lines.blank },
      bytes: this.bytes,
      events: this.events,
      batches: this.batches,
      sinkErrors: this.sinkErrors,
      connections: this.connections,
      restarts: this.restarts,
      files: this.files,
    };
    return this.lastError === undefined ? snapshot : { ...snapshot, lastError: this.lastError };
  }
}
