// Per-packet cost of the eBPF programs through BPF_PROG_TEST_RUN, against a
// bare reference program (parse + 5-tuple LRU lookup/insert + counter)
// measured in the same run. The helper (bpf/tools/bench-prog.c) alternates
// case and reference over 25 short rounds and prints each round's pair. A
// program's cost also depends on where its JIT image lands (a few percent
// between loads of the same object), so the helper runs LOADS times, each
// loading the objects afresh; the figures are medians over every round, and
// the spread of the per-round ratio and of the per-load medians is printed.
// Needs root; prints its BENCH lines last.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const BPF_DIR = join(__dirname, "..", "..", "bpf");
const LOADS = 7;

// Helper case -> BENCH name, as issue 3 names them.
const FIGURES: readonly (readonly [string, string])[] = [
  ["new_flow", "bpf_new_flow_ns"],
  ["new_flow_mirrored", "bpf_new_flow_mirrored_ns"],
  ["fastpath_hit", "bpf_fastpath_hit_ns"],
  ["blocked", "bpf_blocked_ns"],
  ["classify_dscp", "bpf_classify_dscp_ns"],
];

interface Round {
  value: number;
  baseline: number;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: readonly number[], digits: number): string =>
  `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`;

/** One helper run (one load of every object): its rounds per case. */
function runOnce(): Map<string, Round[]> {
  const out = execFileSync(join(BPF_DIR, "build", "fos1-bench-prog"), [join(BPF_DIR, "build")], {
    encoding: "utf8",
  });
  const rounds = new Map<string, Round[]>();
  for (const line of out.split("\n")) {
    const m = /^(\w+) ([\d.]+) ([\d.]+)$/.exec(line);
    if (!m) continue;
    const list = rounds.get(m[1]!) ?? [];
    list.push({ value: Number(m[2]), baseline: Number(m[3]) });
    rounds.set(m[1]!, list);
  }
  for (const [name] of FIGURES) {
    if (!rounds.get(name)?.length) throw new Error(`fos1-bench-prog printed no round for ${name}:\n${out}`);
  }
  return rounds;
}

function main(): void {
  execFileSync("make", ["-s", "-C", BPF_DIR, "all"], { stdio: "inherit" });
  const loads = Array.from({ length: LOADS }, runOnce);
  const bench: string[] = [];
  for (const [name, benchName] of FIGURES) {
    const perLoad = loads.map((l) => l.get(name)!);
    const rounds = perLoad.flat();
    const value = median(rounds.map((r) => r.value));
    const baseline = median(rounds.map((r) => r.baseline));
    const ratios = rounds.map((r) => r.value / r.baseline);
    const loadRatios = perLoad.map((l) => median(l.map((r) => r.value)) / median(l.map((r) => r.baseline)));
    console.log(
      `${benchName}: ${rounds.length} rounds over ${LOADS} loads; median ${value.toFixed(1)} ns vs reference ` +
        `${baseline.toFixed(1)} ns; per-round ratio median ${median(ratios).toFixed(3)} (${range(ratios, 3)}); ` +
        `per-load ratio ${range(loadRatios, 3)}`,
    );
    bench.push(
      `BENCH ${benchName} value=${value.toFixed(1)} unit=ns baseline=${baseline.toFixed(1)} ratio=${(value / baseline).toFixed(3)}`,
    );
  }
  console.log(bench.join("\n"));
}

main();
