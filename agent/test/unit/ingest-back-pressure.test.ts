import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { EveFileSource, eveSocketSource, type EventSink, type IngestSource } from "../../src/ingest";
import { flowNumbers, numberedEveLine, sleep, tempDir, waitFor } from "./ingest-harness";
import type { DpiEvent } from "../../../sdk/events";

const dirs: { remove(): void }[] = [];
const sources: IngestSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) d.remove();
});

/** A sink that holds every batch until released: a downstream that has stalled. */
function stalledSink(): { sink: EventSink; events: DpiEvent[]; calls: () => number; release(): void } {
  const events: DpiEvent[] = [];
  let calls = 0;
  let released = false;
  let wake: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (wake = resolve));
  return {
    events,
    calls: () => calls,
    release: () => {
      released = true;
      wake();
    },
    sink: async (batch) => {
      calls++;
      if (!released) await gate;
      events.push(...batch);
    },
  };
}

const LINES = 20_000;
const CHUNK = 64 * 1024;

describe("back-pressure: a stalled sink pauses reading", () => {
  it("file source: one chunk read while the sink holds its batch, then every line once it moves", async () => {
    const temp = tempDir("bp");
    dirs.push(temp);
    const eve = join(temp.dir, "eve.json");
    const text = Array.from({ length: LINES }, (_, i) => `${numberedEveLine(i)}\n`).join("");
    writeFileSync(eve, text);
    const stalled = stalledSink();
    const source = new EveFileSource({
      name: "suricata-eve",
      path: eve,
      stateDir: join(temp.dir, "state"),
      sink: stalled.sink,
      startAtEnd: false,
      chunkBytes: CHUNK,
    });
    sources.push(source);
    const heapBefore = process.memoryUsage().heapUsed;
    await source.start();
    await waitFor("the first batch", () => stalled.calls() === 1);
    await sleep(500);
    // Reading stopped at the first chunk: the rest of the 10 MB file stays on disk.
    expect(source.stats().bytes).toBe(CHUNK);
    expect(stalled.calls()).toBe(1);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(text.length / 2);
    stalled.release();
    await waitFor("every line", () => stalled.events.length === LINES, 30_000);
    expect(flowNumbers(stalled.events)).toEqual(Array.from({ length: LINES }, (_, i) => i));
    expect(source.stats().bytes).toBe(Buffer.byteLength(text));
  });

  it("unix socket source: the writer's data backs up in the writer while the sink stalls", async () => {
    const temp = tempDir("bps");
    dirs.push(temp);
    const path = join(temp.dir, "eve.sock");
    const stalled = stalledSink();
    const source = eveSocketSource({ name: "suricata-eve-socket", path, sink: stalled.sink });
    sources.push(source);
    await source.start();
    const text = Array.from({ length: LINES }, (_, i) => `${numberedEveLine(i)}\n`).join("");
    const writer = connect(path);
    await new Promise<void>((resolve) => writer.once("connect", () => resolve()));
    writer.write(text);
    await waitFor("the first batch", () => stalled.calls() === 1);
    await sleep(500);
    // The agent holds at most its socket buffers; the rest waits in the writer, which a real
    // Suricata would feel as a blocking write.
    expect(source.stats().bytes).toBeLessThan(text.length / 4);
    expect(writer.writableLength).toBeGreaterThan(text.length / 2);
    stalled.release();
    await waitFor("every line", () => stalled.events.length === LINES, 30_000);
    expect(flowNumbers(stalled.events)).toEqual(Array.from({ length: LINES }, (_, i) => i));
    writer.destroy();
  });
});
