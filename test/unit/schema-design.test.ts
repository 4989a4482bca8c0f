import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadYamlDocuments, type QosPolicy, type RoutingPolicy } from "@fos1/dpi/sdk/schema";

const root = join(__dirname, "..", "..");

/** The policy documents of ../shared/DESIGN.md, cut from the file itself so the test follows the design. */
function designYaml(): string {
  const design = readFileSync(join(root, "..", "shared", "DESIGN.md"), "utf8");
  const block = /```yaml\n([\s\S]*?)```/.exec(design);
  if (!block) throw new Error("DESIGN.md has no yaml block");
  return block[1];
}

describe("the DESIGN.md documents", () => {
  it("are the example committed in examples/policies/design.yaml", () => {
    expect(readFileSync(join(root, "examples/policies/design.yaml"), "utf8")).toBe(designYaml());
  });

  it("parse verbatim, percentages as numbers", () => {
    const { documents, problems } = loadYamlDocuments(designYaml(), "DESIGN.md");
    expect(problems).toEqual([]);
    const [qos, routing] = documents.map((d) => d.document) as [QosPolicy, RoutingPolicy];
    expect(qos.metadata.name).toBe("default-qos-policy");
    expect(qos.spec.classes.map((c) => [c.name, c.priority, c.bandwidth])).toEqual([
      ["voip", "high", { min: 20, max: 40 }],
      ["web", "medium", { min: 10, max: 60 }],
      ["bulk", "low", { max: 20 }],
    ]);
    expect(routing.spec.rules.map((r) => [r.name, r.action.routeVia, r.networkSegment])).toEqual([
      ["streaming-via-isp2", "isp2", undefined],
      ["business-via-mpls", "mpls", undefined],
      ["guest-via-internet", "default-internet", "guest"],
    ]);
  });

  it("validate every committed example", () => {
    for (const file of [
      "policies/design.yaml",
      "policies/fast-path.yaml",
      "sites/branch.yaml",
      "sites/two-uplinks.yaml",
      "sites/internet-and-mpls.yaml",
      "lab/site.yaml",
    ]) {
      const { documents, problems } = loadYamlDocuments(
        readFileSync(join(root, "examples", file), "utf8"),
        file,
      );
      expect(problems).toEqual([]);
      expect(documents.length).toBeGreaterThan(0);
    }
  });

  it("accept a custom resource as a cluster returns it (extra metadata, status)", () => {
    const cr = `${designYaml().split("---")[0]}status:\n  nodes: { router-1: applied }\n`.replace(
      "metadata: { name: default-qos-policy }",
      "metadata:\n  name: default-qos-policy\n  namespace: fos1-system\n  uid: 9a1b\n  resourceVersion: '42'\n  generation: 3",
    );
    const { documents, problems } = loadYamlDocuments(cr, "cr.yaml");
    expect(problems).toEqual([]);
    expect(documents[0].document.metadata.name).toBe("default-qos-policy");
  });
});
