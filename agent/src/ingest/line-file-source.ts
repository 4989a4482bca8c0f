import { basename, dirname } from "node:path";
import { parseNdpiRecord, parseSuricataEve, type LineParser } from "../../../sdk/events";
import type { Engine } from "../../../sdk/schema/dpi-sensor";
import { silentLogger } from "../log";
import { FileFollower } from "./file-follower";
import { FILE_SOURCE_DEFAULTS, type FileSourceOptions } from "./file-source-options";
import type { IngestSource, IngestSourceStats } from "./ingest-source";
import { OffsetStore } from "./offset-store";
import { OrderedDelivery } from "./ordered-delivery";
import { SourceCounters } from "./source-counters";
import { watchDirectory } from "./directory-watch";

export interface LineFileSourceOptions extends FileSourceOptions {
  /** The file a sensor appends JSON lines to. */
  readonly path: string;
}

/**
 * A sensor's JSON-lines file, followed like `tail -F` through appends,
 * truncation and rotation by rename (logrotate + SIGHUP), resuming after a
 * restart at the byte after the last line the sink accepted.
 */
export class LineFileSource implements IngestSource {
  readonly name: string;
  private readonly counters: SourceCounters;
  private readonly store: OffsetStore;
  private readonly delivery: OrderedDelivery;
  private readonly follower: FileFollower;
  private running: Promise<void> | undefined;
  private watch: { close(): void } | undefined;

  constructor(
    private readonly options: LineFileSourceOptions,
    engine: Engine,
    parse: LineParser,
  ) {
    const log = options.log ?? silentLogger;
    this.name = options.name;
    this.counters = new SourceCounters(options.name, engine);
    this.store = new OffsetStore(options.stateDir, options.name);
    this.delivery = new OrderedDelivery(options.sink, this.counters, log, options.delivery);
    this.follower = new FileFollower({
      path: options.path,
      parse,
      delivery: this.delivery,
      counters: this.counters,
      savePosition: (position) => this.store.save(options.path, position),
      resumeFrom: () => this.store.get(options.path),
      startAtEnd: options.startAtEnd ?? FILE_SOURCE_DEFAULTS.startAtEnd,
      chunkBytes: options.chunkBytes ?? FILE_SOURCE_DEFAULTS.chunkBytes,
      maxLineBytes: options.maxLineBytes ?? FILE_SOURCE_DEFAULTS.maxLineBytes,
      pollMs: options.pollMs ?? FILE_SOURCE_DEFAULTS.pollMs,
      log,
    });
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.store.load();
    const name = basename(this.options.path);
    this.watch = watchDirectory(
      dirname(this.options.path),
      (changed) => {
        if (changed === undefined || changed === name) this.follower.wake();
      },
      this.options.log ?? silentLogger,
    );
    this.running = this.follower.run();
    await this.follower.positioned;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.watch?.close();
    this.follower.requestStop();
    this.delivery.stop();
    await this.running;
    this.running = undefined;
  }

  stats(): IngestSourceStats {
    return this.counters.snapshot();
  }
}

/** Suricata's eve.json as a regular file (`outputs.eve-log.filename`, `filetype: regular`). */
export class EveFileSource extends LineFileSource {
  constructor(options: LineFileSourceOptions) {
    super(options, "suricata", parseSuricataEve);
  }
}

/** The fos1-ndpi-sensor's output written to a file, as its sidecar container does in a cluster. */
export class NdpiFileSource extends LineFileSource {
  constructor(options: LineFileSourceOptions) {
    super(options, "ndpi", parseNdpiRecord);
  }
}
