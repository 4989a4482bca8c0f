import { readFileSync } from "node:fs";
import { join } from "node:path";
import { planLab } from "@fos1/dpi/cli/lab/topology";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";
import { nodePolicyFrom } from "@fos1/dpi/sdk/decide";
import { compileSite, isPolicyDocument } from "@fos1/dpi/sdk/compile";

const root = join(__dirname, "..", "..");
const load = (f: string) =>
  loadYamlDocuments(readFileSync(join(root, f), "utf8"), f).documents.map((d) => d.document);
const site = load("examples/lab/site.yaml")[0] as Site;

describe("the lab topology", () => {
  const t = planLab(site, "lab", "fos1-mirror");

  it("gives the router the site's interface names and every uplink its own internet namespace", () => {
    const routerDevs = t.links
      .flatMap((l) => [l.a, l.b])
      .filter((e) => e.ns === t.router)
      .map((e) => e.dev);
    expect(routerDevs.sort()).toEqual(["fos1-mirror", "fos1-mirror-s", "lan0", "mpls0", "wan1", "wan2"]);
    expect(t.uplinks).toEqual({ isp1: "lab-isp1", isp2: "lab-isp2", mpls: "lab-mpls" });
    expect(
      t.routes
        .filter((r) => r.type === "local")
        .map((r) => r.ns)
        .sort(),
    ).toEqual(["lab-isp1", "lab-isp2", "lab-mpls"]);
  });

  it("puts the guest host in the site's guest segment and the client outside it", () => {
    const policy = nodePolicyFrom(
      compileSite(load("examples/policies/design.yaml").filter(isPolicyDocument), site).programs,
    );
    const host = (name: string) => t.hosts.find((h) => h.name === name)!;
    expect(policy.segments.lookup(host("guest").address)).toBe(1);
    expect(policy.segments.lookup(host("guest").address6)).toBe(1);
    expect(policy.segments.lookup(host("client").address)).toBeUndefined();
  });

  it("uses only names that fit the kernel and stay inside the lab's prefix", () => {
    for (const ns of t.namespaces) expect(ns.startsWith("lab-")).toBe(true);
    for (const end of t.links.flatMap((l) => [l.a, l.b])) expect(end.dev.length).toBeLessThanOrEqual(15);
    expect(new Set(t.namespaces).size).toBe(t.namespaces.length);
  });
});
