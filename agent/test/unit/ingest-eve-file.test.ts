import {
  appendFileSync,
  closeSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { parseLines, parseSuricataEve } from "../../../sdk/events";
import { EveFileSource, type EventSink } from "../../src/ingest";
import {
  collectingSink,
  flowNumbers,
  numberedEveLine,
  sleep,
  TESTDATA,
  tempDir,
  waitFor,
} from "./ingest-harness";

const dirs: { remove(): void }[] = [];
const sources: EveFileSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) d.remove();
});

function setup(): { eve: string; state: string } {
  const temp = tempDir("eve");
  dirs.push(temp);
  return { eve: join(temp.dir, "eve.json"), state: join(temp.dir, "state") };
}

async function started(
  path: string,
  stateDir: string,
  sink: EventSink,
  startAtEnd = false,
): Promise<EveFileSource> {
  const source = new EveFileSource({ name: "suricata-eve", path, stateDir, sink, startAtEnd, pollMs: 50 });
  sources.push(source);
  await source.start();
  return source;
}

async function stopped(source: EveFileSource): Promise<void> {
  await source.stop();
  sources.splice(sources.indexOf(source), 1);
}

describe("EveFileSource on the real EVE samples", () => {
  const expected: Record<string, { parsed: number; rejected: Record<string, number> }> = {
    "elastic-integrations-test-eve-6-0.eve.json": { parsed: 3, rejected: {} },
    "elastic-integrations-test-eve-small.eve.json": { parsed: 11, rejected: { "no-flow": 1 } },
    "fhassanabad-first-org-conf-2015-alerts.eve.json": { parsed: 136, rejected: {} },
    "fhassanabad-honeypot-2018-alerts.eve.json": { parsed: 44, rejected: {} },
    "fhassanabad-wrccdc-2017-alerts.eve.json": { parsed: 161, rejected: {} },
    "fhassanabad-wrccdc-2018-alerts.eve.json": { parsed: 207, rejected: {} },
    "suricata-docs-eve-json-format-examples.eve.json": { parsed: 15, rejected: {} },
    "suricata-verify-output-eve-fileinfo.expected.eve.json": { parsed: 1, rejected: {} },
  };

  it.each(Object.entries(expected))("%s: every line delivered in order, exact counts", async (file, want) => {
    const { eve, state } = setup();
    const text = readFileSync(join(TESTDATA, "suricata", file), "utf8");
    writeFileSync(eve, text);
    const { sink, events } = collectingSink();
    const source = await started(eve, state, sink);
    await waitFor(
      "every line",
      () =>
        source.stats().lines.parsed + sum(source.stats().lines.rejected) === want.parsed + sum(want.rejected),
    );
    await waitFor("the sink", () => events.length === want.parsed);
    const stats = source.stats();
    expect(stats.lines.parsed).toBe(want.parsed);
    expect(Object.fromEntries(Object.entries(stats.lines.rejected).filter(([, n]) => n > 0))).toEqual(
      want.rejected,
    );
    expect(stats.events).toBe(want.parsed);
    expect(stats.bytes).toBe(Buffer.byteLength(text));
    const direct = parseLines(text, parseSuricataEve).results.flatMap((r) => (r.ok ? [r.event] : []));
    expect(events).toEqual(direct);
  });
});

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe("EveFileSource follows the file like tail -F", () => {
  it("loses and repeats no line across appends, rotations by rename and a stop/restart in the middle", async () => {
    const { eve, state } = setup();
    const { sink, events } = collectingSink();
    const total = 3000;
    let fd = openSync(eve, "a");
    let next = 0;
    let rotations = 0;
    // Appends in uneven batches, some lines split across two writes, as a busy Suricata does.
    const writeBatch = async (count: number) => {
      for (let i = 0; i < count && next < total; i++) {
        const line = `${numberedEveLine(next++)}\n`;
        if (next % 7 === 0) {
          writeSync(fd, line.slice(0, 40));
          await sleep(1);
          writeSync(fd, line.slice(40));
        } else writeSync(fd, line);
      }
      await sleep(2);
    };
    // logrotate renames; Suricata writes on to the old file until its SIGHUP, then opens a new one.
    const rotate = async () => {
      rotations++;
      renameSync(eve, `${eve}.${rotations}`);
      await writeBatch(25);
      closeSync(fd);
      fd = openSync(eve, "a");
    };

    let source = await started(eve, state, sink);
    while (next < 800) await writeBatch(1 + (next % 37));
    await rotate();
    while (next < 1500) await writeBatch(1 + (next % 23));
    await stopped(source);
    const atStop = events.length;
    // While the agent is down: more lines, and a rotation it must find by inode.
    while (next < 1900) await writeBatch(40);
    await rotate();
    while (next < 2100) await writeBatch(40);
    source = await started(eve, state, sink);
    while (next < 2600) await writeBatch(1 + (next % 50));
    await rotate();
    while (next < total) await writeBatch(1 + (next % 11));
    closeSync(fd);

    await waitFor(`${total} events`, () => events.length >= total);
    await sleep(200);
    // The stop fell in the middle: some lines came before it, the rest only after the restart.
    expect(atStop).toBeGreaterThan(0);
    expect(atStop).toBeLessThan(1900);
    expect(flowNumbers(events)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(source.stats().lines.rejected["not-json"]).toBe(0);
  });

  it("reads a truncated file again from its start", async () => {
    const { eve, state } = setup();
    const { sink, events } = collectingSink();
    appendFileSync(eve, Array.from({ length: 100 }, (_, i) => `${numberedEveLine(i)}\n`).join(""));
    await started(eve, state, sink);
    await waitFor("100 events", () => events.length === 100);
    truncateSync(eve, 0);
    appendFileSync(eve, Array.from({ length: 50 }, (_, i) => `${numberedEveLine(100 + i)}\n`).join(""));
    await waitFor("150 events", () => events.length === 150);
    expect(flowNumbers(events)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  it("waits for the rest of a half-written line", async () => {
    const { eve, state } = setup();
    const { sink, events } = collectingSink();
    const line = numberedEveLine(7);
    writeFileSync(eve, line.slice(0, 100));
    const source = await started(eve, state, sink);
    await sleep(300);
    expect(events).toHaveLength(0);
    appendFileSync(eve, `${line.slice(100)}\n`);
    await waitFor("the completed line", () => events.length === 1);
    expect(flowNumbers(events)).toEqual([7]);
    expect(source.stats().lines.rejected["not-json"]).toBe(0);
  });

  it("saves the offset after the last accepted line, and starts at the end of an existing file only when asked", async () => {
    const { eve, state } = setup();
    writeFileSync(eve, Array.from({ length: 10 }, (_, i) => `${numberedEveLine(i)}\n`).join(""));
    const { sink, events } = collectingSink();
    const source = await started(eve, state, sink, true);
    appendFileSync(eve, `${numberedEveLine(10)}\n${numberedEveLine(11)}\n`);
    await waitFor("the appended lines", () => events.length === 2);
    await stopped(source);
    expect(flowNumbers(events)).toEqual([10, 11]);
    const saved = JSON.parse(readFileSync(join(state, "suricata-eve.offsets.json"), "utf8"));
    expect(saved.files[eve]).toMatchObject({
      path: eve,
      offset: statSync(eve).size,
      ino: String(statSync(eve).ino),
    });
  });

  it("does not save the offset of a batch the sink refused, so a restart delivers it", async () => {
    const { eve, state } = setup();
    writeFileSync(eve, `${numberedEveLine(1)}\n`);
    let attempts = 0;
    const refusing: EventSink = async () => {
      attempts++;
      throw new Error("downstream unavailable");
    };
    const source = new EveFileSource({
      name: "suricata-eve",
      path: eve,
      stateDir: state,
      sink: refusing,
      startAtEnd: false,
      delivery: { retryInitialMs: 10 },
    });
    sources.push(source);
    await source.start();
    await waitFor("retries", () => attempts >= 3);
    expect(source.stats()).toMatchObject({
      sinkErrors: attempts,
      events: 0,
      lastError: "sink: downstream unavailable",
    });
    await stopped(source);
    const { sink, events } = collectingSink();
    await started(eve, state, sink);
    await waitFor("the refused line", () => events.length === 1);
    expect(flowNumbers(events)).toEqual([1]);
  });
});
