import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/**
 * Where a followed file was read up to: the file by device and inode (a
 * rotated file keeps them under its new name) and the byte after the last
 * line the sink accepted. dev and ino are decimal strings: they are u64.
 */
export const filePositionSchema = z.object({
  path: z.string().min(1),
  dev: z.string().regex(/^[0-9]+$/),
  ino: z.string().regex(/^[0-9]+$/),
  offset: z.number().int().nonnegative(),
});
export type FilePosition = z.infer<typeof filePositionSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  /** Keyed by the path the source follows (`/var/log/suricata/eve.json`, `conn.log`). */
  files: z.record(z.string(), filePositionSchema),
});
type OffsetState = z.infer<typeof stateSchema>;

/**
 * A file source's positions, one JSON file per source in the agent's state
 * directory. Every save writes a temporary file and renames it over the old
 * one, so a crash at any moment leaves either the old or the new positions,
 * never a torn file; saves are serialised in call order.
 */
export class OffsetStore {
  readonly file: string;
  private positions = new Map<string, FilePosition>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    sourceName: string,
  ) {
    if (!/^[A-Za-z0-9_.-]+$/.test(sourceName)) {
      throw new Error(`source name ${JSON.stringify(sourceName)}: letters, digits, '.', '_' and '-' only`);
    }
    this.file = join(stateDir, `${sourceName}.offsets.json`);
  }

  /** Reads the saved positions; none when the source never saved. Throws `file: path: reason` on a damaged file. */
  async load(): Promise<ReadonlyMap<string, FilePosition>> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.file}: (file): ${(error as Error).message}`);
    }
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${this.file}: ${issue.path.join(".") || "(file)"}: ${issue.message}`);
    }
    this.positions = new Map(Object.entries(parsed.data.files));
    return new Map(this.positions);
  }

  get(key: string): FilePosition | undefined {
    return this.positions.get(key);
  }

  /** Records `position` under `key` and writes every position atomically; resolves once it is on disk. */
  save(key: string, position: FilePosition): Promise<void> {
    this.positions.set(key, position);
    const state: OffsetState = { version: 1, files: Object.fromEntries(this.positions) };
    const write = this.writing.then(() => this.write(state));
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async write(state: OffsetState): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(state));
    await rename(temporary, this.file);
  }
}
