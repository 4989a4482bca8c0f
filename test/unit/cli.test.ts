import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "@fos1/dpi/cli/run";
import type { Io } from "@fos1/dpi/cli/io";
import { hashMatches, nodeProgram, type NodeProgram } from "@fos1/dpi/sdk/compile";

const root = join(__dirname, "..", "..");
const example = (f: string) => join(root, "examples", f);

/** Runs the CLI in-process with captured output and files from disk or from `files`. */
async function cli(argv: string[], files: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    readFile: (p) => (p in files ? files[p] : readFileSync(p, "utf8")),
    writeFile: (p, t) => (files[p] = t),
  };
  const status = await run(argv, io);
  return { status, stdout, stderr };
}

describe("fos1-dpi validate", () => {
  it("accepts the DESIGN.md documents and the examples", async () => {
    const r = await cli([
      "validate",
      example("policies/design.yaml"),
      example("policies/fast-path.yaml"),
      example("sites/branch.yaml"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(6);
    expect(r.stdout).toContain("QoSPolicy/default-qos-policy valid");
  });

  it("prints every problem as file:line:col: path: reason and exits 1", async () => {
    const bad =
      "apiVersion: networking.fos1.io/v1\nkind: QoSPolicy\nmetadata: { name: q }\nspec:\n  classes:\n    - { name: voip, applications: [zoom, skipe], priority: urgent }\n";
    const r = await cli(["validate", "bad.yaml"], { "bad.yaml": bad });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter(Boolean).sort()).toEqual([
      expect.stringMatching(
        /^bad\.yaml:6:42: spec\.classes\[0\]\.applications\[1\]: unknown application "skipe"; nearest known: skype/,
      ),
      'bad.yaml:6:60: spec.classes[0].priority: Invalid option: expected one of "high"|"medium"|"low"',
    ]);
  });

  it("gives machine-readable output with --json", async () => {
    const r = await cli(["validate", "--json", "missing.yaml", example("sites/branch.yaml")]);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.documents).toEqual([
      { file: example("sites/branch.yaml"), index: 0, kind: "Site", name: "branch" },
    ]);
    expect(out.problems).toEqual([{ file: "missing.yaml", path: "", message: "cannot read: ENOENT" }]);
  });

  it("exits 2 with usage on a wrong command line", async () => {
    expect((await cli(["validate"])).status).toBe(2);
    expect((await cli(["frobnicate"])).stderr).toContain('unknown command "frobnicate"');
    expect((await cli(["compile", "x.yaml"])).stderr).toContain("--site is required");
    expect((await cli(["validate", "--bogus", "x"])).status).toBe(2);
  });
});

describe("fos1-dpi compile", () => {
  it("prints valid, self-consistent NodePrograms for a two-uplink site", async () => {
    const r = await cli([
      "compile",
      "--json",
      "--site",
      example("sites/two-uplinks.yaml"),
      example("policies/fast-path.yaml"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const programs = JSON.parse(r.stdout) as unknown[];
    expect(programs).toHaveLength(3);
    for (const p of programs) {
      const parsed = nodeProgram.parse(p);
      expect(hashMatches(parsed)).toBe(true);
    }
  });

  it("prints the DESIGN.md documents' programs for a two-uplink site, default-internet naming its default uplink", async () => {
    const r = await cli([
      "compile",
      "--json",
      "--site",
      example("sites/internet-and-mpls.yaml"),
      example("policies/design.yaml"),
    ]);
    expect(r.status).toBe(0);
    const programs = JSON.parse(r.stdout) as NodeProgram[];
    expect(programs.map((p) => p.metadata.name)).toEqual([
      "qos-default-qos-policy",
      "routing-application-routing",
    ]);
    const routing = programs[1].spec;
    expect(routing.runtime.routing?.uplinks.map((u) => u.name)).toEqual(["isp2", "mpls"]);
    const guest = routing.maps.fos1_route_policy.find((e) => e.key.segment_id === 1 && e.key.app_id === 0);
    expect(guest?.value.mark).toBe(routing.runtime.routing?.uplinks[0].mark);
    expect(programs[0].spec.tc.map((d) => [d.device, d.bandwidthBps])).toEqual([
      ["wan0", 200e6],
      ["mpls0", 20e6],
    ]);
  });

  it("limits output to one node with --node", async () => {
    const r = await cli([
      "compile",
      "--json",
      "--site",
      example("sites/branch.yaml"),
      "--node",
      "router-2",
      example("policies/design.yaml"),
    ]);
    expect(JSON.parse(r.stdout).map((p: { metadata: { node: string } }) => p.metadata.node)).toEqual([
      "router-2",
      "router-2",
    ]);
    const unknown = await cli([
      "compile",
      "--site",
      example("sites/branch.yaml"),
      "--node",
      "router-9",
      example("policies/design.yaml"),
    ]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/spec\.nodes: no node named "router-9"/);
  });

  it("rejects a policy that names what the site lacks, at its line", async () => {
    const r = await cli([
      "compile",
      "--site",
      example("sites/two-uplinks.yaml"),
      example("policies/design.yaml"),
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `${example("policies/design.yaml")}:29:27: spec.rules[1].action.routeVia: uplink "mpls" is not defined on site "two-uplinks"; known: isp1, isp2, default-internet\n`,
    );
  });

  it("refuses a site file that holds no Site", async () => {
    const r = await cli([
      "compile",
      "--site",
      example("policies/design.yaml"),
      example("policies/design.yaml"),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("expected exactly one Site document, found 0");
  });
});

describe("the fos1-dpi executable", () => {
  it("runs as a process, with exit status and stderr", () => {
    const tsx = join(root, "node_modules", ".bin", "tsx");
    const ok = execFileSync(tsx, [join(root, "cli", "main.ts"), "validate", example("sites/branch.yaml")], {
      encoding: "utf8",
    });
    expect(ok).toContain("Site/branch valid");
    const bad = spawnSync(
      tsx,
      [
        join(root, "cli", "main.ts"),
        "compile",
        "--site",
        example("sites/two-uplinks.yaml"),
        example("policies/design.yaml"),
      ],
      {
        encoding: "utf8",
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("spec.rules[1].action.routeVia");
  });
});
