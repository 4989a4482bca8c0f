import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { hashMatches, nodeProgram, type NodeProgram } from "../../../sdk/compile/node-program";
import { problemsFromZod, formatProblem } from "../../../sdk/schema/problem";
import { SyncedWriter } from "./synced-writer";

/** A program as the agent keeps it: the body that was PUT, and when it was first applied with this hash. */
export interface StoredProgram {
  readonly program: NodeProgram;
  readonly appliedAt: string;
  /**
   * The program's JSON exactly as it was PUT (validated and hash-checked).
   * It is written to disk as it is, and a PUT of the same bytes is known
   * to be the same program without parsing it again.
   */
  readonly body?: Buffer;
}

/** A program file written but not yet the stored one (ProgramStore.stage). */
export interface StagedProgram {
  /** Makes it the stored program, durably; rejects when it could not be written. */
  commit(): Promise<void>;
  /** Drops it; the stored program stays as it was. */
  discard(): Promise<void>;
}

const storedProgram = z.strictObject({ program: nodeProgram, appliedAt: z.string() });

const SUFFIX = ".json";
/** A stored file is this, the time as JSON, this, the program's JSON, and the closing brace. */
const HEAD = '{"appliedAt":';
const PROGRAM_MEMBER = ',"program":';
const TEMP_MARK = ".tmp-";

/** A stored file the agent cannot trust; the agent refuses to start rather than drop its state from the kernel. */
export class StoreError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "StoreError";
  }
}

/**
 * The desired programs on disk, one file per program under `<stateDir>/programs`.
 * A write goes to a temporary file that is fsynced, renamed over the old file
 * and followed by an fsync of the directory, so after a crash or power loss a
 * program file holds either the old or the new program, never a torn one.
 */
export class ProgramStore {
  private readonly dir: string;
  private dirMade?: Promise<unknown>;
  private dirReady = false;
  private readonly writer = new SyncedWriter();

  constructor(stateDir: string) {
    this.dir = join(stateDir, "programs");
  }

  /** Every stored program, sorted by name; leftovers of interrupted writes are removed. */
  async load(): Promise<StoredProgram[]> {
    await this.makeDir();
    const out: StoredProgram[] = [];
    for (const entry of (await readdir(this.dir)).sort()) {
      const file = join(this.dir, entry);
      if (entry.includes(TEMP_MARK)) {
        await rm(file, { force: true });
        continue;
      }
      if (!entry.endsWith(SUFFIX)) continue;
      out.push(parseStored(file, entry.slice(0, -SUFFIX.length), await readFile(file)));
    }
    return out;
  }

  /**
   * Writes the program to a temporary file and fsyncs it at once (so the disk
   * works while the kernel is written); `commit` renames it over the
   * program's file and fsyncs the directory, `discard` removes it.
   */
  stage(stored: StoredProgram): StagedProgram {
    const target = this.fileOf(stored.program.metadata.name);
    const temp = `${target}${TEMP_MARK}${process.pid}`;
    const written = this.writeSynced(temp, storedBytes(stored));
    // Awaited by commit or discard; a failure is reported by commit.
    written.catch(() => undefined);
    return {
      commit: async () => {
        await written;
        await rename(temp, target);
        await this.syncDir();
      },
      // Called on a failure path, whose error is the one to report; a leftover is removed at the next load.
      discard: async () => {
        await written.catch(() => undefined);
        await rm(temp, { force: true }).catch(() => undefined);
      },
    };
  }

  async remove(name: string): Promise<void> {
    await rm(this.fileOf(name), { force: true });
    await this.syncDir();
  }

  /** Ends the thread that writes program files. */
  close(): Promise<void> {
    return this.writer.close();
  }

  /**
   * On the writer's thread, handed over at once when the directory is known
   * to exist (it is after `load`): an await first would hand it over only
   * once the PUT's synchronous work is done.
   */
  private writeSynced(file: string, bytes: Buffer): Promise<void> {
    if (this.dirReady) return this.writer.write(file, bytes);
    return this.makeDir().then(() => this.writer.write(file, bytes));
  }

  private makeDir(): Promise<unknown> {
    this.dirMade ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => {
      this.dirReady = true;
    });
    return this.dirMade;
  }

  private fileOf(name: string): string {
    return join(this.dir, name + SUFFIX);
  }

  /** Makes a rename or unlink durable: the directory entry itself must reach the disk. */
  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** The file's bytes: the program's body as it was PUT, or serialised when there is none. */
function storedBytes(stored: StoredProgram): Buffer {
  const body = stored.body ?? Buffer.from(JSON.stringify(stored.program));
  return Buffer.concat([
    Buffer.from(HEAD + JSON.stringify(stored.appliedAt) + PROGRAM_MEMBER),
    body,
    Buffer.from("}"),
  ]);
}

function parseStored(file: string, name: string, bytes: Buffer): StoredProgram {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new StoreError(file, `not JSON: ${(error as Error).message}`);
  }
  const parsed = storedProgram.safeParse(json);
  if (!parsed.success) {
    throw new StoreError(file, problemsFromZod(parsed.error).map(formatProblem).join("; "));
  }
  if (!hashMatches(parsed.data.program)) throw new StoreError(file, "hash does not match the program");
  if (parsed.data.program.metadata.name !== name) {
    throw new StoreError(file, `holds program "${parsed.data.program.metadata.name}", not "${name}"`);
  }
  return { ...parsed.data, ...programBytes(bytes, parsed.data.appliedAt) };
}

/**
 * The program's bytes in a file laid out as `storedBytes` writes it; none
 * for other files. They must be one JSON value on their own: only then are
 * they the program the whole file parsed to (no later duplicate member).
 */
function programBytes(bytes: Buffer, appliedAt: string): { body?: Buffer } {
  const head = Buffer.from(HEAD + JSON.stringify(appliedAt) + PROGRAM_MEMBER);
  if (!bytes.subarray(0, head.length).equals(head) || bytes[bytes.length - 1] !== 0x7d) return {};
  const body = bytes.subarray(head.length, bytes.length - 1);
  try {
    JSON.parse(body.toString("utf8"));
  } catch {
    return {};
  }
  return { body };
}
