// Packets per second per core of fos1-ndpi-sensor against ndpiReader 4.2 on
// the nDPI test captures, both measured in this run the same way:
//
// - Both tools run pinned to one CPU (taskset), reading the same files, and the
//   time is the wall time of the whole process (start-up, nDPI set-up, reading,
//   classification, output), taken around spawnSync. The sensor prints its JSON
//   lines to /dev/null; ndpiReader runs with -q (no per-flow output).
// - ndpi_sensor_pps: steady-state throughput. The 22 captures are repeated
//   COPIES times, each copy with its addresses rewritten (tcprewrite --seed) so
//   every copy is new flows that nDPI must dissect, concatenated into one file.
//   Each tool reads it once per round; ROUNDS rounds, alternating which tool
//   goes first; the median wall time counts.
// - ndpi_sensor_pps_per_pcap_process: each original capture read by its own
//   process, as ndpiReader is usually run; the sum over all captures per round,
//   median of ROUNDS. Start-up (nDPI's automata, ~20-40 ms) dominates here.
//
// pps = frames in the input / median wall seconds.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { buildSensor, NDPI_PCAP_DIR, SENSOR_BIN } from "../unit/ndpi-sensor-harness";
import { median } from "../lib/median";

const COPIES = 20;
const ROUNDS = 5;
const CPU = String(cpus().length - 1);

interface Tool {
  readonly name: string;
  readonly args: (pcap: string) => string[];
}

const sensor: Tool = { name: "fos1-ndpi-sensor", args: (pcap) => [SENSOR_BIN, "-r", pcap] };
const ndpiReader: Tool = { name: "ndpiReader", args: (pcap) => ["ndpiReader", "-q", "-i", pcap] };

function timedRun(tool: Tool, pcap: string): number {
  const started = process.hrtime.bigint();
  const run = spawnSync("taskset", ["-c", CPU, ...tool.args(pcap)], { stdio: ["ignore", "ignore", "pipe"] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`${tool.name} failed on ${pcap}: ${run.stderr.toString()}`);
  return seconds;
}

function frames(pcap: string): number {
  const run = spawnSync(SENSOR_BIN, ["-r", pcap], { stdio: ["ignore", "ignore", "pipe"] });
  const match = /packets=(\d+)/.exec(run.stderr.toString());
  if (run.status !== 0 || !match) throw new Error(`cannot count frames of ${pcap}: ${run.stderr.toString()}`);
  return Number(match[1]);
}

/** Median over rounds of `measure(tool)`, alternating which tool goes first each round. */
function medianSeconds(measure: (tool: Tool) => number): Map<Tool, number> {
  const samples = new Map<Tool, number[]>([
    [sensor, []],
    [ndpiReader, []],
  ]);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [sensor, ndpiReader] : [ndpiReader, sensor];
    for (const tool of order) samples.get(tool)?.push(measure(tool));
  }
  return new Map([...samples].map(([tool, s]) => [tool, median(s)]));
}

function buildAmplifiedCapture(dir: string, pcaps: readonly string[]): string {
  const copies: string[] = [];
  for (let seed = 1; seed <= COPIES; seed++) {
    for (const pcap of pcaps) {
      const out = join(dir, `${seed}-${pcap.replace(/\.pcapng$/, ".pcap")}`);
      // stdio piped: its snaplen warnings stay quiet unless it fails.
      execFileSync(
        "tcprewrite",
        [`--seed=${seed}`, `--infile=${join(NDPI_PCAP_DIR, pcap)}`, `--outfile=${out}`],
        {
          stdio: "pipe",
        },
      );
      copies.push(out);
    }
  }
  const all = join(dir, "all.pcap");
  execFileSync("mergecap", ["-a", "-F", "pcap", "-w", all, ...copies], { stdio: "pipe" });
  return all;
}

function benchLine(name: string, sensorPps: number, readerPps: number): string {
  return `BENCH ${name} value=${sensorPps.toFixed(0)} unit=pps baseline=${readerPps.toFixed(0)} ratio=${(sensorPps / readerPps).toFixed(3)}`;
}

function main(): void {
  buildSensor();
  const pcaps = readdirSync(NDPI_PCAP_DIR).sort();
  const work = mkdtempSync(join(tmpdir(), "ns-bench-"));
  try {
    const amplified = buildAmplifiedCapture(work, pcaps);
    const amplifiedFrames = frames(amplified);
    const steady = medianSeconds((tool) => timedRun(tool, amplified));

    const pcapFrames = pcaps.reduce((n, pcap) => n + frames(join(NDPI_PCAP_DIR, pcap)), 0);
    const perProcess = medianSeconds((tool) =>
      pcaps.reduce((sum, pcap) => sum + timedRun(tool, join(NDPI_PCAP_DIR, pcap)), 0),
    );

    for (const [label, input, seconds] of [
      [`${COPIES} rewritten copies of ${pcaps.length} captures in one file`, amplifiedFrames, steady],
      [`${pcaps.length} captures, one process each`, pcapFrames, perProcess],
    ] as const) {
      for (const tool of [sensor, ndpiReader]) {
        const s = seconds.get(tool) ?? NaN;
        console.log(
          `${label}: ${tool.name} ${input} frames in ${s.toFixed(3)} s (median of ${ROUNDS}, CPU ${CPU})`,
        );
      }
    }

    const pps = (input: number, seconds: Map<Tool, number>, tool: Tool): number =>
      input / (seconds.get(tool) ?? NaN);
    console.log(
      benchLine(
        "ndpi_sensor_pps",
        pps(amplifiedFrames, steady, sensor),
        pps(amplifiedFrames, steady, ndpiReader),
      ),
    );
    console.log(
      benchLine(
        "ndpi_sensor_pps_per_pcap_process",
        pps(pcapFrames, perProcess, sensor),
        pps(pcapFrames, perProcess, ndpiReader),
      ),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
