import type { Logger } from "../log";
import type { EventSink } from "./ingest-source";
import type { OrderedDeliveryOptions } from "./ordered-delivery";

/** What every file-following source (Suricata EVE file, Zeek log directory) is configured with. */
export interface FileSourceOptions {
  /** The source's name: unique in the agent, it names its offsets file in stateDir. */
  readonly name: string;
  /** Directory for the offsets file; created when missing. */
  readonly stateDir: string;
  readonly sink: EventSink;
  /** @default silent */
  readonly log?: Logger;
  /**
   * On the very first start (no saved offset), begin at the end of files that
   * already exist, like `tail -F`, so a sensor's history does not replay as
   * new alerts. Files created later are always read from their first line.
   * @default true
   */
  readonly startAtEnd?: boolean;
  /** Bytes read per chunk, the most one batch holds. @default 65536 */
  readonly chunkBytes?: number;
  /** Longer lines are skipped and counted as `line-too-long`. @default 1 MiB */
  readonly maxLineBytes?: number;
  /** Fallback check interval when no file-system event arrives. @default 250 */
  readonly pollMs?: number;
  readonly delivery?: OrderedDeliveryOptions;
}

export const FILE_SOURCE_DEFAULTS = {
  startAtEnd: true,
  chunkBytes: 64 * 1024,
  maxLineBytes: 1024 * 1024,
  pollMs: 250,
} as const;
