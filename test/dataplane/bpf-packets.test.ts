import { spawnSync } from "node:child_process";
import { join } from "node:path";

// The packet-level cases live in the C runner (bpf/tests); each becomes one
// jest test here, so a failing case fails by name and a runner that cannot
// build or run fails the suite instead of being skipped.
const BPF_DIR = join(__dirname, "..", "..", "bpf");
const MIN_CASES = 40;

interface RunnerResult {
  cases: { name: string; passed: boolean; reason: string }[];
  summary?: { passed: number; failed: number };
  problem?: string;
}

function runPacketTests(): RunnerResult {
  const build = spawnSync("make", ["-s", "-C", BPF_DIR, "build/fos1-packet-tests", "all"], {
    encoding: "utf8",
  });
  if (build.status !== 0) return { cases: [], problem: `make failed:\n${build.stdout}${build.stderr}` };
  const run = spawnSync(join(BPF_DIR, "build", "fos1-packet-tests"), [join(BPF_DIR, "build")], {
    encoding: "utf8",
    timeout: 120_000,
  });
  const cases: RunnerResult["cases"] = [];
  let summary: RunnerResult["summary"];
  for (const line of (run.stdout ?? "").split("\n")) {
    const c = /^(PASS|FAIL) (\S+)(?:: (.*))?$/.exec(line);
    if (c) cases.push({ name: c[2]!, passed: c[1] === "PASS", reason: c[3] ?? "" });
    const s = /^(\d+) passed, (\d+) failed$/.exec(line);
    if (s) summary = { passed: Number(s[1]), failed: Number(s[2]) };
  }
  const problem =
    summary === undefined
      ? `the runner printed no summary (status ${run.status}, signal ${run.signal}):\n${run.stderr}`
      : undefined;
  return { cases, ...(summary ? { summary } : {}), ...(problem ? { problem } : {}) };
}

const result = runPacketTests();

describe("eBPF packet tests (BPF_PROG_TEST_RUN)", () => {
  it("the runner ran to its summary with at least 40 cases, each reported once", () => {
    expect(result.problem).toBeUndefined();
    expect(result.cases.length).toBeGreaterThanOrEqual(MIN_CASES);
    expect(new Set(result.cases.map((c) => c.name)).size).toBe(result.cases.length);
    expect(result.summary).toEqual({
      passed: result.cases.filter((c) => c.passed).length,
      failed: result.cases.filter((c) => !c.passed).length,
    });
  });

  it.each(result.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(c.reason).toBe("");
    expect(c.passed).toBe(true);
  });
});
