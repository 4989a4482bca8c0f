import { join } from "node:path";
import { nodePolicyFrom } from "@fos1/dpi/sdk/decide";
import { compileLabPolicies, loadLabSite, resolveSensorSelector } from "@fos1/dpi/cli/lab/policies";
import { ratesBetween, tcDeviceOf } from "@fos1/dpi/cli/lab/rates";
import { matchesSelector } from "@fos1/dpi/cli/lab/selector";
import { planLab } from "@fos1/dpi/cli/lab/topology";

const root = join(__dirname, "..", "..");

describe("label selectors, as Kubernetes evaluates them", () => {
  const labels = { app: "web", tier: "frontend" };
  it.each([
    [{ matchLabels: { app: "web" } }, true],
    [{ matchLabels: { app: "db" } }, false],
    [{ matchExpressions: [{ key: "tier", operator: "In" as const, values: ["frontend", "edge"] }] }, true],
    [{ matchExpressions: [{ key: "tier", operator: "NotIn" as const, values: ["frontend"] }] }, false],
    [{ matchExpressions: [{ key: "zone", operator: "NotIn" as const, values: ["a"] }] }, true],
    [{ matchExpressions: [{ key: "zone", operator: "Exists" as const }] }, false],
    [{ matchExpressions: [{ key: "zone", operator: "DoesNotExist" as const }] }, true],
    [{ matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "Exists" as const }] }, true],
    [
      { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "DoesNotExist" as const }] },
      false,
    ],
    [{}, true],
  ])("%j -> %s", (selector, expected) => {
    expect(matchesSelector(labels, selector)).toBe(expected);
  });
});

describe("the lab's policies", () => {
  const site = loadLabSite(root);
  const topology = planLab(site, "lt", "ltmir1");

  it("resolve the sensor's selector to the addresses of exactly the hosts it picks", () => {
    const { programs, selectedHosts } = compileLabPolicies(root, site, topology.hosts);
    expect(selectedHosts).toContain("wl-a");
    expect(selectedHosts).not.toContain("wl-b");
    const sensor = programs.find(
      (p) => p.metadata.source.kind === "DpiSensor" && p.metadata.node === "router",
    )!;
    const selected = sensor.spec.maps.fos1_inspect_select!.map((e) => String(e.key.prefix));
    const wlB = topology.hosts.find((h) => h.name === "wl-b")!;
    const wlA = topology.hosts.find((h) => h.name === "wl-a")!;
    expect(selected).toContain(`${wlA.address}/32`);
    expect(selected.some((p) => p.startsWith(`${wlB.address}/`))).toBe(false);
    expect(sensor.spec.config.inspect_all).toBe(false);
  });

  it("leave documents without a selector as they are", () => {
    const doc = {
      apiVersion: "networking.fos1.io/v1",
      kind: "FirewallPolicy",
      metadata: { name: "x" },
      spec: {},
    };
    expect(resolveSensorSelector(doc as never, topology.hosts)).toBe(doc);
  });

  it("measure each class's rate from the growth of its HTB byte counter, against its rate and ceil", () => {
    const { programs } = compileLabPolicies(root, site, topology.hosts);
    const device = tcDeviceOf(programs, "isp1")!;
    const leaves = device.classes.filter((c) => c.name !== "root");
    const before = new Map(leaves.map((c) => [c.classid, 1000]));
    const after = new Map(leaves.map((c, i) => [c.classid, 1000 + (i + 1) * 1_250_000]));
    const rates = ratesBetween(device, before, after, 2, nodePolicyFrom(programs));
    expect(rates.map((r) => r.class)).toEqual(leaves.map((c) => c.name));
    // (i+1) * 1.25 MB over 2 s = (i+1) * 5 Mbit/s.
    expect(rates.map((r) => r.measuredBps)).toEqual(leaves.map((_, i) => (i + 1) * 5_000_000));
    const voip = rates.find((r) => r.class === "voip")!;
    expect(voip).toMatchObject({ uplink: "isp1", dscp: 46, minBps: 20_000_000, maxBps: 40_000_000 });
  });
});
