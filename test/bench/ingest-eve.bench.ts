// EVE lines per second through the agent's file source into a sink that does
// nothing, against reading and splitting the same file with no parsing, both
// measured in this run the same way:
//
// - The file is every line of the real Suricata EVE samples repeated to about
//   COPIES x 579 lines (~ 30 MB), written once to a temp dir.
// - Source: EveFileSource from the first byte, 64 KiB chunks, offsets saved
//   per chunk as in production; timed from start() to the last event.
// - Baseline: the same file read in 64 KiB chunks with a file handle and split
//   into lines (counting newlines, decoding each line to a string): the I/O and
//   framing the source cannot avoid, without parsing or delivery.
// - Median of ROUNDS, alternating which goes first.
import { open, writeFile } from "node:fs/promises";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EveFileSource } from "../../agent/src/ingest";
import { median } from "../lib/median";

const SAMPLES = "/work/shared/testdata/suricata";
const COPIES = 100;
const ROUNDS = 5;
const CHUNK = 64 * 1024;

function sampleText(): { text: string; lines: number } {
  const lines = readdirSync(SAMPLES)
    .sort()
    .flatMap((file) => readFileSync(join(SAMPLES, file), "utf8").split("\n"))
    .filter((line) => line.trim() !== "");
  const all = Array.from({ length: COPIES }, () => lines).flat();
  return { text: `${all.join("\n")}\n`, lines: all.length };
}

async function sourceSeconds(file: string, dir: string, round: number, lines: number): Promise<number> {
  let delivered = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const source = new EveFileSource({
    name: `bench-${round}`,
    path: file,
    stateDir: join(dir, "state"),
    startAtEnd: false,
    chunkBytes: CHUNK,
    sink: async (events) => {
      delivered += events.length;
      if (delivered >= expectedEvents(lines)) done();
    },
  });
  const started = process.hrtime.bigint();
  await source.start();
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await source.stop();
  const stats = source.stats();
  if (stats.lines.parsed + stats.lines.rejected["no-flow"] !== lines)
    throw new Error("the source missed lines");
  return seconds;
}

// One line per copy (Suricata's stats record) names no flow and is rejected, not delivered.
const expectedEvents = (lines: number) => lines - COPIES;

async function splitSeconds(file: string, lines: number): Promise<number> {
  const started = process.hrtime.bigint();
  const handle = await open(file, "r");
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  let count = 0;
  let carry = Buffer.alloc(0);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    const chunk = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (chunk.toString("utf8", start, nl).length > 0) count++;
      start = nl + 1;
    }
    carry = Buffer.from(chunk.subarray(start));
  }
  await handle.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (count !== lines) throw new Error(`split ${count} lines, expected ${lines}`);
  return seconds;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ig-bench-"));
  try {
    const { text, lines } = sampleText();
    const file = join(dir, "eve.json");
    await writeFile(file, text);
    const source: number[] = [];
    const split: number[] = [];
    await splitSeconds(file, lines);
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        source.push(await sourceSeconds(file, dir, round, lines));
        split.push(await splitSeconds(file, lines));
      } else {
        split.push(await splitSeconds(file, lines));
        source.push(await sourceSeconds(file, dir, round, lines));
      }
    }
    const sourceRate = lines / median(source);
    const splitRate = lines / median(split);
    console.log(
      `${lines} EVE lines (${(text.length / 1e6).toFixed(1)} MB), median of ${ROUNDS}: ` +
        `file source ${median(source).toFixed(3)} s, read+split ${median(split).toFixed(3)} s`,
    );
    console.log(
      `BENCH ingest_eve_lines_per_s value=${sourceRate.toFixed(0)} unit=lines/s baseline=${splitRate.toFixed(0)} ratio=${(sourceRate / splitRate).toFixed(3)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
