import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { parseAllDocuments } from "yaml";
import { withoutPromiseStacks } from "@fos1/dpi/components/base/promise-stacks";
import { AppRoutingPolicy, DpiSensor, FirewallFastPath, QosPolicy } from "@fos1/dpi/components";
import { AGENT_TOKEN, REPO, recordRegistrations, setStackConfig, settle } from "./components-harness";

const docs = (file: string) =>
  Object.fromEntries(
    parseAllDocuments(readFileSync(join(REPO, file), "utf8"))
      .map((d) => d.toJS() as { kind: string; spec: unknown })
      .map((d) => [d.kind, d]),
  );
const site = docs("examples/sites/branch.yaml").Site;
const design = docs("examples/policies/design.yaml");
const enforcement = docs("examples/policies/fast-path.yaml");

const frames = (stack: string | undefined) => (stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
/**
 * The stacks Pulumi stamped on the promises that `build` made, for its
 * promise-leak report: it keeps every pending one in its store.
 */
function stamps(build: () => unknown): string[] {
  const { getStore } = require("@pulumi/pulumi/runtime/state") as {
    getStore(): { leakCandidates: Set<{ _debugStackTrace?: string }> };
  };
  const before = new Set(getStore().leakCandidates);
  build();
  const made = [...getStore().leakCandidates].filter((p) => !before.has(p));
  expect(made.length).toBeGreaterThan(0);
  return made.map((p) => p._debugStackTrace ?? "");
}

let registered: ReturnType<typeof recordRegistrations>;
const limit = Error.stackTraceLimit;

beforeAll(() => {
  registered = recordRegistrations();
  setStackConfig({ "fos1:site": site, "fos1:agentToken": AGENT_TOKEN }, ["fos1:agentToken"]);
});
beforeEach(() => {
  Error.stackTraceLimit = 23;
});
afterEach(async () => {
  Error.stackTraceLimit = limit;
  delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
  await settle(registered);
});

describe("withoutPromiseStacks", () => {
  it("leaves Pulumi's promise stamps empty for what is built inside, and only there", () => {
    const inside = stamps(() =>
      withoutPromiseStacks(() => new k8s.core.v1.ConfigMap("inside", { data: { a: "1" } })),
    );
    const outside = stamps(() => new k8s.core.v1.ConfigMap("outside", { data: { a: "1" } }));
    expect(inside.flatMap(frames)).toEqual([]);
    expect(outside.every((s) => frames(s).length > 0)).toBe(true);
    expect(Error.stackTraceLimit).toBe(23);
  });

  it("gives an error thrown inside a stack from the caller down, and restores the limit", () => {
    let thrown: Error | undefined;
    try {
      withoutPromiseStacks(() => {
        throw new Error("refused");
      });
    } catch (error) {
      thrown = error as Error;
    }
    expect(thrown?.message).toBe("refused");
    expect(frames(thrown?.stack)[0]).toMatch(/components-promise-stacks\.test\.ts/);
    expect(Error.stackTraceLimit).toBe(23);
  });

  it("changes nothing when PULUMI_DEBUG_PROMISE_LEAKS asks for the stamps", () => {
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
    const inside = stamps(() =>
      withoutPromiseStacks(() => new k8s.core.v1.ConfigMap("debugged", { data: { a: "1" } })),
    );
    expect(inside.every((s) => frames(s).length > 0)).toBe(true);
  });
});

describe("the components build their children that way", () => {
  const valid: [string, () => unknown][] = [
    ["QosPolicy", () => new QosPolicy("stacks-qos", { spec: design.QoSPolicy!.spec as never })],
    [
      "AppRoutingPolicy",
      () => new AppRoutingPolicy("stacks-routing", { spec: design.RoutingPolicy!.spec as never }),
    ],
    [
      "FirewallFastPath",
      () =>
        new FirewallFastPath("stacks-edge", {
          fastPath: enforcement.FastPathPolicy!.spec as never,
          firewall: enforcement.FirewallPolicy!.spec as never,
        }),
    ],
    ["DpiSensor", () => new DpiSensor("stacks-sensor", { spec: enforcement.DpiSensor!.spec as never })],
  ];

  it.each(valid)(
    "%s stamps no stack on its children's promises, and leaves the limit as it was",
    (_kind, build) => {
      const made = stamps(build);
      // What has one is the component's own registration, before its children are built.
      expect(made.filter((s) => frames(s).length > 0).length).toBeLessThan(made.length / 10);
      expect(Error.stackTraceLimit).toBe(23);
    },
  );

  const invalid: [string, () => unknown][] = [
    ["QosPolicy", () => new QosPolicy("stacks-bad-qos", { spec: { classes: "none" } as never })],
    ["AppRoutingPolicy", () => new AppRoutingPolicy("stacks-bad-routing", { spec: { rules: 1 } as never })],
    ["FirewallFastPath", () => new FirewallFastPath("stacks-bad-edge", {} as never)],
    ["DpiSensor", () => new DpiSensor("stacks-bad-sensor", { spec: { engines: 1 } as never })],
  ];

  it.each(invalid)("%s refuses bad arguments with a stack that reaches the caller", (_kind, build) => {
    let thrown: Error | undefined;
    try {
      build();
    } catch (error) {
      thrown = error as Error;
    }
    expect(thrown?.name).toBe("ComponentArgsError");
    expect(frames(thrown?.stack).some((f) => f.includes("components-promise-stacks.test.ts"))).toBe(true);
    expect(Error.stackTraceLimit).toBe(23);
  });
});
