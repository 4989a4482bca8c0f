// Per-packet cost of the eBPF programs through BPF_PROG_TEST_RUN, against a
// bare reference program (parse + 5-tuple LRU lookup/insert + counter)
// measured in the same run. The helper (bpf/tools/bench-prog.c) alternates
// case and reference over 25 short rounds and prints medians and the spread
// of the per-round ratio; on a loaded machine the ratio of a pair of rounds
// is steadier than either figure alone. Needs root; prints its BENCH lines last.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const BPF_DIR = join(__dirname, "..", "..", "bpf");

// Helper case -> BENCH name, as issue 3 names them.
const FIGURES: readonly (readonly [string, string])[] = [
  ["new_flow", "bpf_new_flow_ns"],
  ["new_flow_mirrored", "bpf_new_flow_mirrored_ns"],
  ["fastpath_hit", "bpf_fastpath_hit_ns"],
  ["blocked", "bpf_blocked_ns"],
  ["classify_dscp", "bpf_classify_dscp_ns"],
];

interface Figure {
  value: number;
  baseline: number;
  ratioMedian: number;
  ratioMin: number;
  ratioMax: number;
}

const NUM = String.raw`([\d.]+)`;
const LINE = new RegExp(`^(\\w+) ${Array(5).fill(NUM).join(" ")}$`);

function parse(out: string): Map<string, Figure> {
  const figures = new Map<string, Figure>();
  for (const line of out.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [value, baseline, ratioMedian, ratioMin, ratioMax] = m.slice(2).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    figures.set(m[1]!, { value, baseline, ratioMedian, ratioMin, ratioMax });
  }
  return figures;
}

function main(): void {
  execFileSync("make", ["-s", "-C", BPF_DIR, "all"], { stdio: "inherit" });
  const out = execFileSync(join(BPF_DIR, "build", "fos1-bench-prog"), [join(BPF_DIR, "build")], {
    encoding: "utf8",
  });
  const figures = parse(out);
  const bench: string[] = [];
  for (const [name, benchName] of FIGURES) {
    const f = figures.get(name);
    if (!f) throw new Error(`fos1-bench-prog printed no figure for ${name}:\n${out}`);
    console.log(
      `${benchName}: median ${f.value.toFixed(1)} ns vs reference ${f.baseline.toFixed(1)} ns; ` +
        `per-round ratio median ${f.ratioMedian.toFixed(3)}, spread ${f.ratioMin.toFixed(3)}..${f.ratioMax.toFixed(3)}`,
    );
    bench.push(
      `BENCH ${benchName} value=${f.value.toFixed(1)} unit=ns baseline=${f.baseline.toFixed(1)} ratio=${(f.value / f.baseline).toFixed(3)}`,
    );
  }
  console.log(bench.join("\n"));
}

main();
