import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseZeekLog } from "../../../sdk/events";
import { silentLogger, type Logger } from "../log";
import { watchDirectory } from "./directory-watch";
import { FileFollower } from "./file-follower";
import { FILE_SOURCE_DEFAULTS, type FileSourceOptions } from "./file-source-options";
import type { IngestSource, IngestSourceStats } from "./ingest-source";
import { OffsetStore } from "./offset-store";
import { OrderedDelivery } from "./ordered-delivery";
import { SourceCounters } from "./source-counters";

export interface ZeekLogDirSourceOptions extends FileSourceOptions {
  /** Zeek's log directory (the logger's working directory, `Log::default_logdir`), with JSON logs (`LogAscii::use_json=T`). */
  readonly dir: string;
}

/** `conn.log`, `dns.log`, `known_services.log`: a live log; rotated ones (`conn.2024-01-01-00-00-00.log`) have more dots. */
const LIVE_LOG = /^([A-Za-z0-9_-]+)\.log$/;

/**
 * Zeek's JSON logs: every `<log>.log` in a directory, each followed on its
 * own (the log type, `conn` or `dns`, is the file name) and resumed from its
 * own saved offset. Zeek rotates by renaming the live file and opening a new
 * one; each follower reads the renamed file to its end before moving on.
 * Files that appear later (a log Zeek writes for the first time) are picked
 * up as they are created and read from their first line.
 */
export class ZeekLogDirSource implements IngestSource {
  readonly name: string;
  private readonly counters: SourceCounters;
  private readonly store: OffsetStore;
  private readonly delivery: OrderedDelivery;
  private readonly log: Logger;
  private readonly followers = new Map<string, { follower: FileFollower; running: Promise<void> }>();
  private watch: { close(): void } | undefined;
  private started = false;
  private stopping = false;
  private scanning: Promise<void> = Promise.resolve();
  private rescanTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ZeekLogDirSourceOptions) {
    this.log = options.log ?? silentLogger;
    this.name = options.name;
    this.counters = new SourceCounters(options.name, "zeek");
    this.store = new OffsetStore(options.stateDir, options.name);
    this.delivery = new OrderedDelivery(options.sink, this.counters, this.log, options.delivery);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    const saved = await this.store.load();
    const firstStart = saved.size === 0;
    // Logs read before resume even if their live file is gone now: the rotated file may still hold unread lines.
    await Promise.all([...saved.keys()].map((name) => this.follow(name, false)));
    this.watch = watchDirectory(this.options.dir, (name) => this.onChange(name), this.log);
    await this.scan(firstStart && (this.options.startAtEnd ?? FILE_SOURCE_DEFAULTS.startAtEnd));
    // New log files are found by the watch; the periodic scan covers a failed or overflowing watch.
    this.rescanTimer = setInterval(
      () => this.queueScan(),
      (this.options.pollMs ?? FILE_SOURCE_DEFAULTS.pollMs) * 4,
    );
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    clearInterval(this.rescanTimer);
    this.watch?.close();
    await this.scanning;
    for (const { follower } of this.followers.values()) follower.requestStop();
    this.delivery.stop();
    await Promise.all([...this.followers.values()].map((f) => f.running));
    this.followers.clear();
    this.started = false;
  }

  stats(): IngestSourceStats {
    return this.counters.snapshot();
  }

  private onChange(name: string | undefined): void {
    if (name === undefined) {
      this.queueScan();
      return;
    }
    const followed = this.followers.get(name);
    if (followed) followed.follower.wake();
    else if (LIVE_LOG.test(name)) this.queueScan();
    // A rename of a live log shows up under the new name: wake its follower too.
    else for (const { follower } of this.followers.values()) follower.wake();
  }

  private queueScan(): void {
    this.scanning = this.scanning.then(() => this.scan(false));
  }

  private async scan(startAtEnd: boolean): Promise<void> {
    if (this.stopping) return;
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch (error) {
      this.counters.lastError = `${this.options.dir}: ${(error as Error).message}`;
      return;
    }
    const started = names.filter((name) => LIVE_LOG.test(name)).map((name) => this.follow(name, startAtEnd));
    await Promise.all(started);
  }

  /** Resolves once the new follower has its starting position (at once for a log already followed). */
  private async follow(name: string, startAtEnd: boolean): Promise<void> {
    if (this.followers.has(name) || this.stopping) return;
    const path = join(this.options.dir, name);
    const logType = LIVE_LOG.exec(name)?.[1];
    const follower = new FileFollower({
      path,
      parse: (line) => parseZeekLog(line, logType),
      delivery: this.delivery,
      counters: this.counters,
      savePosition: (position) => this.store.save(name, position),
      resumeFrom: () => this.store.get(name),
      startAtEnd,
      chunkBytes: this.options.chunkBytes ?? FILE_SOURCE_DEFAULTS.chunkBytes,
      maxLineBytes: this.options.maxLineBytes ?? FILE_SOURCE_DEFAULTS.maxLineBytes,
      pollMs: this.options.pollMs ?? FILE_SOURCE_DEFAULTS.pollMs,
      log: this.log,
    });
    this.followers.set(name, { follower, running: follower.run() });
    await follower.positioned;
  }
}
