// Lines per second through the DpiEvent parsers against JSON.parse alone on
// the same lines, both measured in this run the same way:
//
// - The lines are every non-blank line of the real Suricata EVE and Zeek JSON
//   samples in ../shared/testdata (Zeek lines with the log type named by their
//   file, as the ingest source passes it).
// - Each round times PASSES passes over the lines with the parser and with
//   JSON.parse, alternating which goes first; the median round counts. A
//   warm-up round lets V8 optimise both first.
// - ratio = parser / JSON.parse: the share of raw JSON speed the parser keeps.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSuricataEve, parseZeekLog } from "@fos1/dpi/sdk/events";
import { median } from "../lib/median";

const TESTDATA = "/work/shared/testdata";
const ROUNDS = 9;
const PASSES = 20;

interface Corpus {
  readonly name: string;
  readonly lines: readonly string[];
  readonly parse: (line: string, index: number) => unknown;
}

function sampleLines(dir: string): { file: string; line: string }[] {
  return readdirSync(join(TESTDATA, dir))
    .filter((file) => file.endsWith(".json"))
    .sort()
    .flatMap((file) =>
      readFileSync(join(TESTDATA, dir, file), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => ({ file, line })),
    );
}

function suricataCorpus(): Corpus {
  const lines = sampleLines("suricata").map((l) => l.line);
  return { name: "suricata", lines, parse: (line) => parseSuricataEve(line) };
}

function zeekCorpus(): Corpus {
  const samples = sampleLines("zeek");
  // `zed-sample-data-wrccdc2018-dns.json` is a dns.log.
  const logTypes = samples.map((s) =>
    s.file
      .replace(/\.json$/, "")
      .split("-")
      .pop(),
  );
  return {
    name: "zeek",
    lines: samples.map((s) => s.line),
    parse: (line, i) => parseZeekLog(line, logTypes[i]),
  };
}

function secondsFor(lines: readonly string[], parse: (line: string, index: number) => unknown): number {
  const started = process.hrtime.bigint();
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = 0; i < lines.length; i++) if (parse(lines[i], i) !== undefined) sink++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (sink !== lines.length * PASSES) throw new Error("a parse returned nothing");
  return seconds;
}

/** Lines per second of the parser and of JSON.parse, median over rounds. */
function measure(corpus: Corpus): { parser: number; json: number } {
  const json = (line: string) => JSON.parse(line) as unknown;
  const parserSeconds: number[] = [];
  const jsonSeconds: number[] = [];
  secondsFor(corpus.lines, corpus.parse);
  secondsFor(corpus.lines, json);
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      parserSeconds.push(secondsFor(corpus.lines, corpus.parse));
      jsonSeconds.push(secondsFor(corpus.lines, json));
    } else {
      jsonSeconds.push(secondsFor(corpus.lines, json));
      parserSeconds.push(secondsFor(corpus.lines, corpus.parse));
    }
  }
  const lines = corpus.lines.length * PASSES;
  return { parser: lines / median(parserSeconds), json: lines / median(jsonSeconds) };
}

function benchLine(name: string, value: number, baseline: number): string {
  return `BENCH ${name} value=${value.toFixed(0)} unit=lines/s baseline=${baseline.toFixed(0)} ratio=${(value / baseline).toFixed(3)}`;
}

function main(): void {
  const corpora = [suricataCorpus(), zeekCorpus()];
  const results = corpora.map((corpus) => ({ corpus, ...measure(corpus) }));
  for (const { corpus, parser, json } of results) {
    console.log(
      `${corpus.name}: ${corpus.lines.length} lines x ${PASSES} passes, median of ${ROUNDS} rounds: ` +
        `parser ${parser.toFixed(0)} lines/s, JSON.parse ${json.toFixed(0)} lines/s`,
    );
  }
  // All lines together: total lines over total median time, for each side.
  const total = (pick: (r: (typeof results)[number]) => number) =>
    results.reduce((n, r) => n + r.corpus.lines.length, 0) /
    results.reduce((s, r) => s + r.corpus.lines.length / pick(r), 0);
  console.log(
    benchLine(
      "events_parse_lines_per_s",
      total((r) => r.parser),
      total((r) => r.json),
    ),
  );
  for (const { corpus, parser, json } of results) {
    console.log(benchLine(`events_parse_${corpus.name}_lines_per_s`, parser, json));
  }
}

main();
