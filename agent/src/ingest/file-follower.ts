import { open, readdir, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { EventLineReader, type LineParser } from "../../../sdk/events";
import type { Logger } from "../log";
import type { FilePosition } from "./offset-store";
import { DeliveryStopped, type OrderedDelivery } from "./ordered-delivery";
import type { SourceCounters } from "./source-counters";
import { Waker } from "./waker";

export interface FileFollowerOptions {
  readonly path: string;
  readonly parse: LineParser;
  readonly delivery: OrderedDelivery;
  readonly counters: SourceCounters;
  /** Called after the sink accepted the lines up to `position.offset`. */
  readonly savePosition: (position: FilePosition) => Promise<void>;
  /** Where reading last stopped (saved by an earlier run or by this one); resumed there, in the rotated file if it was rotated since. */
  readonly resumeFrom: () => FilePosition | undefined;
  /** Without a saved position, start at the end of an existing file instead of its first line. */
  readonly startAtEnd: boolean;
  readonly chunkBytes: number;
  readonly maxLineBytes: number;
  /** Longest sleep between checks when no file-system event arrives. */
  readonly pollMs: number;
  readonly log: Logger;
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly dev: string;
  readonly ino: string;
  /** Offset the reader started at; the reader counts from there. */
  base: number;
  /** Next byte to read. */
  position: number;
  reader: EventLineReader;
}

/**
 * Follows one path like `tail -F`, delivering each line's event in order and
 * saving the offset after the sink took it: appends are read as they come
 * (woken by the source's directory watch, polled as a fallback); a truncated
 * file is read again from its start; a file rotated by rename is read to its
 * end before the new file at the path is opened. The old file is left only
 * once the new one has data (the writer has moved: nothing more will be
 * appended to the old) or the old one is deleted.
 */
export class FileFollower {
  private readonly waker = new Waker();
  private stopping = false;
  private readonly buffer: Buffer;
  private current: OpenFile | undefined;
  private markPositioned!: () => void;
  /**
   * Resolves once run() has chosen where to start (saved offset, end, or start
   * of the file): whatever is appended after that is delivered. A source's
   * start() waits for it, so "started" means nothing written next is missed.
   */
  readonly positioned = new Promise<void>((resolve) => (this.markPositioned = resolve));

  constructor(private readonly options: FileFollowerOptions) {
    this.buffer = Buffer.allocUnsafe(options.chunkBytes);
  }

  /** The path changed (an event from the directory watch): look now instead of at the next poll. */
  wake(): void {
    this.waker.wake();
  }

  requestStop(): void {
    this.stopping = true;
    this.waker.wake();
  }

  /** Follows until requestStop(); the batch in flight is delivered and its offset saved before it resolves. */
  async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.follow();
      } catch (error) {
        if (error instanceof DeliveryStopped) return;
        // An unreadable file or a full disk for the offsets: start over from the last saved offset.
        this.options.counters.lastError = `${this.options.path}: ${(error as Error).message}`;
        this.options.log.error("ingest: following a file failed; resuming from the saved offset", {
          source: this.options.counters.source,
          path: this.options.path,
          error,
        });
        await this.waker.wait(this.options.pollMs * 10);
      } finally {
        await this.current?.handle.close();
        this.current = undefined;
      }
    }
  }

  private async follow(): Promise<void> {
    try {
      this.current = await this.openInitial();
    } finally {
      this.markPositioned();
    }
    while (!this.stopping) {
      if (this.current === undefined) {
        this.current = await this.openAt(0);
        if (this.current === undefined) await this.waker.wait(this.options.pollMs);
        continue;
      }
      if (await this.readChunk(this.current)) continue;
      if (!this.stopping) await this.atEndOfFile(this.current);
    }
  }

  /** Reads and delivers one chunk; false at the end of the file. */
  private async readChunk(file: OpenFile): Promise<boolean> {
    const { bytesRead } = await file.handle.read(this.buffer, 0, this.buffer.length, file.position);
    if (bytesRead === 0) return false;
    file.position += bytesRead;
    this.options.counters.bytes += bytesRead;
    await this.options.delivery.deliver(file.reader.push(this.buffer.subarray(0, bytesRead)));
    await this.save(file);
    return true;
  }

  private async atEndOfFile(file: OpenFile): Promise<void> {
    const atPath = await statOrUndefined(this.options.path);
    if (atPath !== undefined && atPath.dev === file.dev && atPath.ino === file.ino) {
      if (atPath.size < file.position) await this.restartTruncated(file);
      else await this.waker.wait(this.options.pollMs);
      return;
    }
    const old = await file.handle.stat();
    const writerMoved = atPath !== undefined && atPath.size > 0;
    if (!writerMoved && old.nlink > 0) {
      await this.waker.wait(this.options.pollMs);
      return;
    }
    // One last look: the writer may have appended between the read that hit the end and the stat.
    if (await this.readChunk(file)) return;
    await this.options.delivery.deliver(file.reader.end());
    await file.handle.close();
    this.current = undefined;
    this.options.log.info("ingest: followed file rotated; reading the new one", {
      source: this.options.counters.source,
      path: this.options.path,
    });
    this.current = await this.openAt(0);
    if (this.current) await this.save(this.current);
  }

  private async restartTruncated(file: OpenFile): Promise<void> {
    this.options.log.warn("ingest: followed file truncated; reading it from the start", {
      source: this.options.counters.source,
      path: this.options.path,
      offset: file.position,
    });
    file.base = 0;
    file.position = 0;
    file.reader = this.newReader();
    await this.save(file);
  }

  private async openInitial(): Promise<OpenFile | undefined> {
    const saved = this.options.resumeFrom();
    if (saved === undefined) {
      const atPath = await statOrUndefined(this.options.path);
      return this.openAt(this.options.startAtEnd && atPath ? atPath.size : 0);
    }
    const atPath = await statOrUndefined(this.options.path);
    if (atPath && atPath.dev === saved.dev && atPath.ino === saved.ino) {
      // Shorter than the saved offset: truncated while the agent was down.
      return this.openAt(saved.offset <= atPath.size ? saved.offset : 0);
    }
    const rotated = await findByInode(dirname(this.options.path), saved);
    if (rotated !== undefined) {
      this.options.log.info("ingest: resuming in the rotated file", {
        source: this.options.counters.source,
        path: this.options.path,
        rotated,
      });
      return this.openFile(rotated, saved.offset);
    }
    this.options.log.warn("ingest: the file last read is gone; reading the current one from its start", {
      source: this.options.counters.source,
      path: this.options.path,
    });
    return this.openAt(0);
  }

  private openAt(offset: number): Promise<OpenFile | undefined> {
    return this.openFile(this.options.path, offset);
  }

  private async openFile(path: string, offset: number): Promise<OpenFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const st = await handle.stat({ bigint: true });
    this.options.counters.files++;
    return {
      handle,
      dev: st.dev.toString(),
      ino: st.ino.toString(),
      base: offset,
      position: offset,
      reader: this.newReader(),
    };
  }

  private newReader(): EventLineReader {
    return new EventLineReader(this.options.parse, {
      maxLineBytes: this.options.maxLineBytes,
      stats: this.options.counters.lines,
    });
  }

  private save(file: OpenFile): Promise<void> {
    return this.options.savePosition({
      path: this.options.path,
      dev: file.dev,
      ino: file.ino,
      offset: file.base + file.reader.committedOffset,
    });
  }
}

interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
  readonly size: number;
}

async function statOrUndefined(path: string): Promise<FileIdentity | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return { dev: st.dev.toString(), ino: st.ino.toString(), size: Number(st.size) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The file in `dir` that is the saved one under another name (rotated by rename), if any. */
async function findByInode(dir: string, saved: FilePosition): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  for (const name of names) {
    if (name === basename(saved.path)) continue;
    const found = await statOrUndefined(join(dir, name));
    if (found && found.dev === saved.dev && found.ino === saved.ino) return join(dir, name);
  }
  return undefined;
}
