import { basename, dirname } from "node:path";
import { parseSuricataEve } from "../../../sdk/events";
import { silentLogger } from "../log";
import { FileFollower } from "./file-follower";
import { FILE_SOURCE_DEFAULTS, type FileSourceOptions } from "./file-source-options";
import type { IngestSource, IngestSourceStats } from "./ingest-source";
import { OffsetStore } from "./offset-store";
import { OrderedDelivery } from "./ordered-delivery";
import { SourceCounters } from "./source-counters";
import { watchDirectory } from "./directory-watch";

export interface EveFileSourceOptions extends FileSourceOptions {
  /** Suricata's eve.json (`outputs.eve-log.filename`, `filetype: regular`). */
  readonly path: string;
}

/**
 * Suricata's EVE log as a regular file, followed like `tail -F` through
 * appends, truncation and rotation by rename (logrotate + SIGHUP), resuming
 * after a restart at the byte after the last line the sink accepted.
 */
export class EveFileSource implements IngestSource {
  readonly name: string;
  private readonly counters: SourceCounters;
  private readonly store: OffsetStore;
  private readonly delivery: OrderedDelivery;
  private readonly follower: FileFollower;
  private running: Promise<void> | undefined;
  private watch: { close(): void } | undefined;

  constructor(private readonly options: EveFileSourceOptions) {
    const log = options.log ?? silentLogger;
    this.name = options.name;
    this.counters = new SourceCounters(options.name, "suricata");
    this.store = new OffsetStore(options.stateDir, options.name);
    this.delivery = new OrderedDelivery(options.sink, this.counters, log, options.delivery);
    this.follower = new FileFollower({
      path: options.path,
      parse: parseSuricataEve,
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
