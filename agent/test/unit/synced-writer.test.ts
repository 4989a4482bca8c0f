import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SyncedWriter } from "@fos1/dpi/agent/src/store/synced-writer";

describe("SyncedWriter", () => {
  const dir = mkdtempSync(join(tmpdir(), "synced-writer-"));
  const writer = new SyncedWriter();
  afterAll(() => writer.close());

  it("writes the bytes, owner-only, and resolves once they are synced", async () => {
    const file = join(dir, "a.json");
    const bytes = Buffer.from(JSON.stringify({ x: "y".repeat(100_000) }));
    await writer.write(file, bytes);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("writes while the event loop is held by synchronous work", async () => {
    const file = join(dir, "busy.json");
    const bytes = Buffer.alloc(4 << 20, 0x61);
    const written = writer.write(file, bytes);
    // No await until the file is whole: the old chain of fs requests would not even have opened it.
    const until = Date.now() + 5000;
    while (Date.now() < until && !(existsSync(file) && statSync(file).size === bytes.length));
    expect(statSync(file).size).toBe(bytes.length);
    await written;
  });

  it("reports a write that failed with the system's reason, and writes again after", async () => {
    await expect(writer.write(join(dir, "missing", "b.json"), Buffer.from("{}"))).rejects.toThrow(/ENOENT/);
    await writer.write(join(dir, "c.json"), Buffer.from("{}"));
    expect(readFileSync(join(dir, "c.json"), "utf8")).toBe("{}");
  });

  it("refuses writes pending at close and starts a new thread for the next one", async () => {
    const refused = expect(writer.write(join(dir, "d.json"), Buffer.alloc(16 << 20))).rejects.toThrow(
      /closed/,
    );
    await writer.close();
    await refused;
    await writer.write(join(dir, "e.json"), Buffer.from("[]"));
    expect(readFileSync(join(dir, "e.json"), "utf8")).toBe("[]");
  });
});
