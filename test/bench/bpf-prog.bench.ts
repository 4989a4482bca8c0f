// Per-packet cost of the eBPF programs through BPF_PROG_TEST_RUN, against a
// bare reference program (parse + 5-tuple LRU lookup/insert + counter)
// measured in the same run, in alternating rounds (bpf/tools/bench-prog.c).
// Needs root; prints its BENCH lines last.
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

function main(): void {
  execFileSync("make", ["-s", "-C", BPF_DIR, "all"], { stdio: "inherit" });
  const out = execFileSync(join(BPF_DIR, "build", "fos1-bench-prog"), [join(BPF_DIR, "build")], {
    encoding: "utf8",
  });
  const measured = new Map<string, { value: number; baseline: number }>();
  for (const line of out.split("\n")) {
    const m = /^(\w+) ([\d.]+) ([\d.]+)$/.exec(line);
    if (m) measured.set(m[1]!, { value: Number(m[2]), baseline: Number(m[3]) });
  }
  const lines: string[] = [];
  for (const [name, bench] of FIGURES) {
    const r = measured.get(name);
    if (!r) throw new Error(`fos1-bench-prog printed no figure for ${name}:\n${out}`);
    lines.push(
      `BENCH ${bench} value=${r.value.toFixed(1)} unit=ns baseline=${r.baseline.toFixed(1)} ratio=${(r.value / r.baseline).toFixed(3)}`,
    );
  }
  console.log(lines.join("\n"));
}

main();
