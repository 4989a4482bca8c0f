import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { diffNodeProgram } from "@fos1/dpi/components/providers/node-program-diff";
import type { NodeProgramOutputs } from "@fos1/dpi/components/providers/node-program-inputs";
import { FLEET_POLICIES, type FleetPolicies } from "../../examples/multi-site/policies";
import { siteProgram } from "../../examples/multi-site/program";
import {
  AGENT_TOKEN,
  REPO,
  byResource,
  leafChanges,
  recordRegistrations,
  setStackConfig,
  settle,
  stackConfig,
  type Registered,
} from "./components-harness";

const NODE_PROGRAM = "pulumi-nodejs:dynamic/fos1:NodeProgram";
const stacks = {
  "site-a": stackConfig("examples/multi-site/Pulumi.site-a.yaml"),
  "site-b": stackConfig("examples/multi-site/Pulumi.site-b.yaml"),
};

jest.setTimeout(60_000);

let registered: Registered[];
beforeAll(() => {
  registered = recordRegistrations();
});

/** Runs the multi-site program as `pulumi preview` would for one stack's config; returns what it registered. */
async function build(config: Record<string, unknown>, policies: FleetPolicies = FLEET_POLICIES) {
  registered.splice(0);
  setStackConfig({ ...config, "fos1:agentToken": AGENT_TOKEN }, ["fos1:agentToken"]);
  siteProgram(policies);
  await settle(registered);
  return byResource(registered.splice(0));
}

describe("examples/multi-site", () => {
  it("builds for both stacks, and the only input that tells them apart is the site config", async () => {
    const a = await build(stacks["site-a"]);
    const b = await build(stacks["site-b"]);
    const bWithSiteA = await build({ ...stacks["site-b"], "fos1:site": stacks["site-a"]["fos1:site"] });
    expect(bWithSiteA).toEqual(a);

    const programs = (m: Map<string, unknown>) =>
      [...m.keys()].filter((k) => k.startsWith(NODE_PROGRAM)).sort();
    expect(programs(a)).toHaveLength(5 * 2);
    expect(programs(b)).toHaveLength(5 * 1);
    const common = [...a.keys()].filter((k) => b.has(k));
    const differing = common.filter((k) => leafChanges(a.get(k), b.get(k)).length > 0).sort();
    expect(differing).toEqual([
      "kubernetes:apps/v1:DaemonSet sensors-agent",
      "kubernetes:apps/v1:DaemonSet sensors-ndpi",
      "kubernetes:apps/v1:DaemonSet sensors-suricata",
      "kubernetes:core/v1:ConfigMap sensors-agent-config",
      "kubernetes:core/v1:ConfigMap sensors-site",
    ]);
    const [agentChange] = leafChanges(
      a.get("kubernetes:apps/v1:DaemonSet sensors-agent"),
      b.get("kubernetes:apps/v1:DaemonSet sensors-agent"),
    );
    expect(agentChange).toMatch(/nodeAffinity.*values\[0\]: "router-1" => "edge-1"/);
  });

  it("a changed policy previews as a reviewed golden file", async () => {
    const before = await build(stacks["site-a"]);
    const changed: FleetPolicies = {
      ...FLEET_POLICIES,
      qos: {
        classes: FLEET_POLICIES.qos.classes.map((c) =>
          c.name === "voip"
            ? {
                ...c,
                applications: [...(c.applications ?? []), "webex"],
                bandwidth: { min: "20%", max: "50%" },
              }
            : c,
        ),
      },
    };
    const after = await build(stacks["site-a"], changed);
    const lines = [
      "# Mocked `pulumi preview --diff` of examples/multi-site, stack site-a, after the QoS policy change:",
      "# class voip gains webex and may borrow up to 50% (was 40%).",
      "",
    ];
    let unchanged = 0;
    // By resource, not in registration order: that follows Pulumi's promise timing, not the program.
    for (const [key, inputs] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
      const old = before.get(key);
      const changes = old === undefined ? ["(created)"] : leafChanges(old, inputs);
      if (changes.length === 0) {
        unchanged += 1;
        continue;
      }
      let op = "update";
      if (key.startsWith(NODE_PROGRAM) && old) {
        const diff = diffNodeProgram(
          { ...(old as object), appliedAt: "", drift: [] } as unknown as NodeProgramOutputs,
          inputs as never,
        );
        op = diff.replaces?.length
          ? `replace (${diff.replaces.join(", ")})`
          : diff.changes
            ? "update"
            : "no change";
      }
      lines.push(`~ ${key}  ${op}`, ...changes.map((c) => `    ~ ${c}`), "");
    }
    lines.push(`${after.size - unchanged} to change, ${unchanged} unchanged`, "");
    const text = lines.join("\n");
    const golden = join(REPO, "test/golden/components/multi-site-site-a-qos-change.preview.txt");
    if (process.env.UPDATE_GOLDEN) {
      mkdirSync(dirname(golden), { recursive: true });
      writeFileSync(golden, text);
    }
    expect(text).toBe(readFileSync(golden, "utf8"));
    expect(text).toContain("spec.tc[0].classes[2].ceilBps: 40000000 => 50000000");
  });
});

describe("examples/single-site", () => {
  it("builds the four components from the YAML documents", async () => {
    registered.splice(0);
    setStackConfig({ "fos1:agentToken": AGENT_TOKEN }, ["fos1:agentToken"]);
    jest.isolateModules(() => {
      require("../../examples/single-site/index");
    });
    await settle(registered);
    const components = registered
      .filter((r) => r.type.startsWith("fos1:dpi:"))
      .map((r) => `${r.type} ${r.name}`);
    expect(components.sort()).toEqual([
      "fos1:dpi:AppRoutingPolicy application-routing",
      "fos1:dpi:DpiSensor branch-sensors",
      "fos1:dpi:FirewallFastPath branch-fast-path",
      "fos1:dpi:QosPolicy default-qos-policy",
    ]);
    expect(registered.filter((r) => r.type === NODE_PROGRAM)).toHaveLength(5 * 2);
  });
});
