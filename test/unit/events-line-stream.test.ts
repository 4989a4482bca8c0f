import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import {
  EventLineReader,
  parseLineStream,
  parseSuricataEve,
  parseZeekLog,
  type ParseResult,
} from "@fos1/dpi/sdk/events";

const EVE = "/work/shared/testdata/suricata/elastic-integrations-test-eve-small.eve.json";
const good = JSON.stringify({
  timestamp: "2024-01-01T00:00:00Z",
  event_type: "flow",
  src_ip: "10.0.0.1",
  src_port: 1,
  dest_ip: "10.0.0.2",
  dest_port: 2,
  proto: "UDP",
});

describe("EventLineReader", () => {
  it("counts parsed lines and rejected lines per reason, ignoring blank lines", () => {
    const reader = new EventLineReader(parseSuricataEve);
    const text = [
      good,
      "",
      '{"timestamp":',
      "[]",
      good.replace('"UDP"', "17"),
      "   ",
      good.replace("10.0.0.1", "x"),
    ]
      .map((l) => `${l}\n`)
      .join("");
    const results = [...reader.push(text), ...reader.end()];
    expect(results).toHaveLength(5);
    expect(reader.stats).toEqual({
      parsed: 2,
      rejected: { "not-json": 1, "not-object": 1, "invalid-field": 1, "no-flow": 0, "line-too-long": 0 },
      blank: 2,
    });
  });

  it("joins lines split across chunks at any byte, multi-byte characters included", () => {
    const text = `${good.replace('"flow"', '"flow","note":"prüfung ✓"')}\n${good}\n`;
    const bytes = Buffer.from(text, "utf8");
    for (const chunkSize of [1, 2, 3, 7, 64]) {
      const reader = new EventLineReader(parseSuricataEve);
      const results: ParseResult[] = [];
      for (let i = 0; i < bytes.length; i += chunkSize)
        results.push(...reader.push(bytes.subarray(i, i + chunkSize)));
      results.push(...reader.end());
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results).toHaveLength(2);
      const first = results[0];
      expect(first.ok && first.event.extra.note).toBe("prüfung ✓");
    }
  });

  it("commits the offset only through complete lines, so a restart resumes without loss or repeats", () => {
    const text = readFileSync(EVE);
    const cut = text.indexOf("\n", 3000) + 40; // mid-line
    const first = new EventLineReader(parseSuricataEve);
    const before = first.push(text.subarray(0, cut));
    const offset = first.committedOffset;
    expect(text[offset - 1]).toBe(0x0a);
    expect(offset).toBeLessThan(cut);

    const resumed = new EventLineReader(parseSuricataEve);
    const after = [...resumed.push(text.subarray(offset)), ...resumed.end()];
    const whole = new EventLineReader(parseSuricataEve);
    const all = [...whole.push(text), ...whole.end()];
    expect([...before, ...after]).toEqual(all);
    expect(before.length + after.length).toBe(12);
    expect(offset + resumed.committedOffset).toBe(text.length);
  });

  it("drops an over-long line unparsed and keeps reading after it", () => {
    const reader = new EventLineReader(parseSuricataEve, { maxLineBytes: 64 });
    const long = `{"x":"${"a".repeat(200)}"}`;
    const results = [
      ...reader.push(`${long.slice(0, 100)}`),
      ...reader.push(`${long.slice(100)}\n${good.slice(0, 60)}\n`),
    ];
    expect(results.map((r) => (r.ok ? "ok" : r.reason))).toEqual(["line-too-long", "not-json"]);
    expect(reader.committedOffset).toBe(long.length + 1 + 61);
    const reader2 = new EventLineReader(parseSuricataEve, { maxLineBytes: 1024 });
    expect(reader2.push(`${long}\n`).map((r) => r.ok || r.reason)).toEqual(["invalid-field"]);
  });

  it("accepts CRLF line ends and parses an unterminated last line only at end()", () => {
    const reader = new EventLineReader(parseSuricataEve);
    expect(reader.push(`${good}\r\n${good}`)).toHaveLength(1);
    expect(reader.end()).toHaveLength(1);
    expect(reader.stats.parsed).toBe(2);
  });
});

describe("parseLineStream", () => {
  it("parses a Zeek log read as a stream, with its counts", async () => {
    const reader = new EventLineReader((line) => parseZeekLog(line));
    const source = Readable.from([
      readFileSync("/work/shared/testdata/zeek/zed-sample-data-wrccdc2018-weird.json"),
    ]);
    let events = 0;
    for await (const result of parseLineStream(source, reader)) if (result.ok) events++;
    expect(events).toBe(199);
    expect(reader.stats.rejected["invalid-field"]).toBe(1);
  });
});
