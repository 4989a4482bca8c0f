import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileSite, isPolicyDocument, prettyJson, type NodeProgram } from "@fos1/dpi/sdk/compile";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";

/**
 * Golden files: the NodePrograms of the example policies, as a reviewer reads
 * them. `UPDATE_GOLDEN=1 npx jest compile-golden` rewrites them; the diff is
 * then reviewed like code.
 */
const root = join(__dirname, "..", "..");
const goldenDir = join(root, "test", "golden");

function load(file: string) {
  const result = loadYamlDocuments(readFileSync(join(root, "examples", file), "utf8"), file);
  if (result.problems.length > 0) throw new Error(JSON.stringify(result.problems));
  return result.documents.map((d) => d.document);
}

function compileExample(siteFile: string, policyFiles: string[]): NodeProgram[] {
  const site = load(siteFile)[0] as Site;
  const result = compileSite(policyFiles.flatMap(load).filter(isPolicyDocument), site);
  expect(result.problems).toEqual([]);
  return result.programs;
}

const goldens: [string, string, string[]][] = [
  ["two-uplinks", "sites/two-uplinks.yaml", ["policies/fast-path.yaml"]],
  ["branch", "sites/branch.yaml", ["policies/design.yaml", "policies/fast-path.yaml"]],
  ["internet-and-mpls", "sites/internet-and-mpls.yaml", ["policies/design.yaml"]],
];

describe("compiled NodePrograms match the reviewed golden files", () => {
  it.each(goldens)("%s", (name, siteFile, policyFiles) => {
    const programs = compileExample(siteFile, policyFiles);
    for (const program of programs) {
      const file = join(goldenDir, name, `${program.metadata.node}.${program.metadata.name}.json`);
      const text = prettyJson(program);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(join(goldenDir, name), { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, "utf8"));
      if (program.spec.nftables) {
        // The ruleset again as plain text, because a reviewer cannot read it as a JSON string.
        const nftFile = file.replace(/\.json$/, ".nft");
        if (process.env.UPDATE_GOLDEN) writeFileSync(nftFile, program.spec.nftables.ruleset);
        expect(program.spec.nftables.ruleset).toBe(readFileSync(nftFile, "utf8"));
      }
    }
  });

  it("the QoS policy of DESIGN.md on a two-uplink site: rates are the class percentages of each uplink", () => {
    const site = load("sites/two-uplinks.yaml")[0] as Site;
    const [qos] = load("policies/design.yaml").filter(isPolicyDocument);
    const { programs, problems } = compileSite([qos], site);
    expect(problems).toEqual([]);
    const tc = programs[0].spec.tc;
    expect(tc.map((d) => [d.device, d.bandwidthBps])).toEqual([
      ["wan1", 100e6],
      ["wan2", 50e6],
    ]);
    const byName = Object.fromEntries(tc[1].classes.map((c) => [c.name, [c.rateBps, c.ceilBps, c.prio]]));
    expect(byName).toEqual({
      root: [50e6, 50e6, 0],
      default: [34.5e6, 50e6, 3],
      voip: [10e6, 20e6, 0],
      web: [5e6, 30e6, 2],
      bulk: [0.5e6, 10e6, 4],
    });
  });

  it("the routing policy of DESIGN.md needs an uplink a two-uplink site lacks, and says which", () => {
    const site = load("sites/two-uplinks.yaml")[0] as Site;
    const routing = load("policies/design.yaml").filter(isPolicyDocument)[1];
    expect(compileSite([routing], site).problems).toEqual([
      {
        document: 0,
        path: "spec.rules[1].action.routeVia",
        message: 'uplink "mpls" is not defined on site "two-uplinks"; known: isp1, isp2, default-internet',
      },
    ]);
  });

  it("is byte-identical across runs and input object order", () => {
    const first = compileExample("sites/branch.yaml", ["policies/design.yaml", "policies/fast-path.yaml"]);
    const again = compileExample("sites/branch.yaml", ["policies/design.yaml", "policies/fast-path.yaml"]);
    expect(again.map((p) => prettyJson(p))).toEqual(first.map((p) => prettyJson(p)));
    expect(new Set(first.map((p) => p.hash)).size).toBe(first.length);
  });

  it("applies a node's own interface names", () => {
    const programs = compileExample("sites/branch.yaml", ["policies/design.yaml"]);
    const routes = (node: string) =>
      programs.find((p) => p.metadata.node === node && p.metadata.name.startsWith("routing"))!.spec.routes;
    expect(routes("router-1").map((r) => r.dev)).toEqual(["wan1", "wan2", "mpls0"]);
    expect(routes("router-2").map((r) => r.dev)).toEqual(["wan1", "wan2", "mpls1"]);
  });
});
