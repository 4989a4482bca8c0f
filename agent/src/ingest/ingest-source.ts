import type { Engine } from "../../../sdk/schema/dpi-sensor";
import type { DpiEvent, LineStats } from "../../../sdk/events";

/**
 * Where parsed events go: one call per batch, in the order the lines were
 * read, never two at once per source. Reading pauses until the promise
 * settles, so a slow sink slows the source instead of filling memory; a batch
 * counts as accepted (and its offset is saved) only when the promise resolves.
 */
export type EventSink = (events: DpiEvent[]) => Promise<void>;

/** What a source has done so far, for the agent's metrics and status. */
export interface IngestSourceStats {
  /** The source's name, unique in the agent (`suricata-eve`, `zeek`). */
  readonly source: string;
  readonly engine: Engine;
  /** Lines parsed into events, rejected per reason, and blank. */
  readonly lines: LineStats;
  /** Bytes read from files, sockets or the child's stdout. */
  readonly bytes: number;
  /** Events the sink accepted, and in how many batches. */
  readonly events: number;
  readonly batches: number;
  /** Sink calls that failed and were retried. */
  readonly sinkErrors: number;
  /** Connections accepted (socket sources), sensor restarts (child source), files followed (file sources). */
  readonly connections: number;
  readonly restarts: number;
  readonly files: number;
  /** The last thing that went wrong, for status pages. */
  readonly lastError?: string;
}

/** A sensor output the agent ingests. */
export interface IngestSource {
  readonly name: string;
  /** Begins reading; resolves once the source is listening, following or spawned. */
  start(): Promise<void>;
  /** Stops reading, lets the batch in flight reach the sink, saves its offset, releases everything. */
  stop(): Promise<void>;
  stats(): IngestSourceStats;
}
