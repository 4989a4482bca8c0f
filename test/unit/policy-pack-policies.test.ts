import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { programHash, type NodeProgram } from "@fos1/dpi/sdk/compile";
import { FLEET_POLICIES } from "../../examples/multi-site/policies";
import { siteProgram } from "../../examples/multi-site/program";
import { blockTtlBounded } from "../../policy-pack/policies/block-ttl-bounded";
import { fastPathCriticalZones } from "../../policy-pack/policies/fast-path-critical-zones";
import { qosClassDscp } from "../../policy-pack/policies/qos-class-dscp";
import { sensorResourceLimits } from "../../policy-pack/policies/sensor-resource-limits";
import {
  AGENT_TOKEN,
  recordRegistrations,
  setStackConfig,
  settle,
  stackConfig,
  unwrapSecrets,
  type Registered,
} from "./components-harness";

/**
 * Each CrossGuard policy called directly, as the policy engine calls it, on
 * the resources the multi-site example registers for site-a (which all pass)
 * and on copies edited to break exactly the rule under test.
 */
jest.setTimeout(60_000);

const NODE_PROGRAM = "pulumi-nodejs:dynamic/fos1:NodeProgram";
let resources: Registered[];

beforeAll(async () => {
  const registered = recordRegistrations();
  setStackConfig(
    { ...stackConfig("examples/multi-site/Pulumi.site-a.yaml"), "fos1:agentToken": AGENT_TOKEN },
    ["fos1:agentToken"],
  );
  siteProgram(FLEET_POLICIES);
  await settle(registered);
  resources = registered.map((r) => ({ ...r, inputs: unwrapSecrets(r.inputs) as Record<string, unknown> }));
});

/** The violations a policy reports for one resource, with the policy's config. */
function violations(policy: ResourceValidationPolicy, resource: Registered, config: object = {}): string[] {
  const reported: string[] = [];
  const args = {
    type: resource.type,
    props: resource.inputs,
    urn: `urn:pulumi:site-a::fos1::${resource.type}::${resource.name}`,
    name: resource.name,
    getConfig: () => config,
  } as unknown as ResourceValidationArgs;
  const validations = Array.isArray(policy.validateResource)
    ? policy.validateResource
    : [policy.validateResource];
  for (const validate of validations) validate!(args, (message) => reported.push(message ?? ""));
  return reported;
}

function program(name: string, node = "router-1"): Registered {
  const found = resources.find(
    (r) =>
      r.type === NODE_PROGRAM &&
      (r.inputs.program as NodeProgram).metadata.name === name &&
      (r.inputs.program as NodeProgram).metadata.node === node,
  );
  if (!found) throw new Error(`no program ${name} on ${node}`);
  return found;
}

/** A copy of a NodeProgram resource with its program edited and rehashed, as a compiler would emit it. */
function edited(resource: Registered, edit: (p: NodeProgram) => void): Registered {
  const copy = structuredClone(resource.inputs.program) as NodeProgram;
  edit(copy);
  copy.hash = programHash(copy.metadata, copy.spec);
  return { ...resource, inputs: { ...resource.inputs, program: copy } };
}

const allPolicies = [sensorResourceLimits, fastPathCriticalZones, qosClassDscp, blockTtlBounded];
const teamConfig = {
  criticalPrefixes: ["10.10.50.0/24"],
  criticalInterfaces: [],
  sensitiveApplications: ["ssh"],
  maxBlockTtl: "24h",
};

describe("the example site passes every policy", () => {
  it.each(allPolicies.map((p) => [p.name, p] as const))("%s", (_name, policy) => {
    expect(resources.length).toBeGreaterThan(20);
    expect(resources.flatMap((r) => violations(policy, r, teamConfig))).toEqual([]);
  });
});

describe("sensor-resource-limits", () => {
  const sensors = () =>
    resources.filter(
      (r) =>
        r.type === "kubernetes:apps/v1:DaemonSet" &&
        String(
          (r.inputs.metadata as { labels: Record<string, string> }).labels["app.kubernetes.io/component"],
        ).startsWith("fos1-sensor-"),
    );

  it("reports a sensor container without a memory limit, at its path", () => {
    const sensor = structuredClone(sensors()[0]);
    const container = (
      sensor.inputs.spec as {
        template: { spec: { containers: { name: string; resources: { limits: Record<string, string> } }[] } };
      }
    ).template.spec.containers[0];
    delete container.resources.limits.memory;
    expect(violations(sensorResourceLimits, sensor)).toEqual([
      `spec.template.spec.containers[0].resources.limits: container "${container.name}" has no memory limit`,
    ]);
  });

  it("leaves DaemonSets that are not fos1-dpi sensors alone", () => {
    const agent = resources.find((r) => r.type === "kubernetes:apps/v1:DaemonSet" && !sensors().includes(r))!;
    const unlimited = structuredClone(agent);
    (
      unlimited.inputs.spec as { template: { spec: { containers: { resources?: unknown }[] } } }
    ).template.spec.containers.forEach((c) => delete c.resources);
    expect(violations(sensorResourceLimits, unlimited)).toEqual([]);
  });
});

describe("fast-path-critical-zones", () => {
  const fastPath = () => program("fastpath-branch");

  it("reports a critical zone the program would let onto the fast path", () => {
    const withoutZone = edited(fastPath(), (p) => {
      p.spec.maps.fos1_critical = [];
    });
    expect(violations(fastPathCriticalZones, withoutZone, teamConfig)).toEqual([
      "program fastpath-branch on node router-1: spec.maps.fos1_critical: critical zone 10.10.50.0/24 is not kept on the slow path",
    ]);
  });

  it("reports a sensitive application in an offload rule and a critical interface left out", () => {
    const offloadsSsh = edited(fastPath(), (p) => {
      p.spec.runtime.fastPath!.offload[0].apps.push({ app: "ssh", appId: 99 });
    });
    const config = { ...teamConfig, criticalInterfaces: ["lan-pay0"] };
    expect(violations(fastPathCriticalZones, offloadsSsh, config)).toEqual([
      "program fastpath-branch on node router-1: spec.runtime.fastPath.criticalInterfaces: interface lan-pay0 is not kept on the slow path",
      "program fastpath-branch on node router-1: spec.runtime.fastPath.offload[0].apps[3]: sensitive application ssh may not be offloaded",
    ]);
  });

  it("passes a program that offloads nothing, whatever its zones", () => {
    const nothingOffloaded = edited(fastPath(), (p) => {
      p.spec.runtime.fastPath!.offload = [];
      p.spec.maps.fos1_critical = [];
    });
    expect(violations(fastPathCriticalZones, nothingOffloaded, teamConfig)).toEqual([]);
  });
});

describe("qos-class-dscp", () => {
  it("reports a class whose map entry has no DSCP", () => {
    const unmarked = edited(program("qos-default-qos-policy"), (p) => {
      const web = p.spec.runtime.qos!.classes.find((c) => c.name === "web")!;
      const entry = p.spec.maps.fos1_qos_classes.find((e) => e.key.class_id === web.classId)!;
      delete entry.value.dscp;
    });
    const index = (unmarked.inputs.program as NodeProgram).spec.runtime.qos!.classes.findIndex(
      (c) => c.name === "web",
    );
    expect(violations(qosClassDscp, unmarked)).toEqual([
      `program qos-default-qos-policy on node router-1: spec.runtime.qos.classes[${index}]: class web has no DSCP`,
    ]);
  });
});

describe("block-ttl-bounded", () => {
  const firewall = () => program("firewall-branch");

  it("reports a block TTL over the bound, and accepts one at it", () => {
    const longBlocks = edited(firewall(), (p) => {
      p.spec.runtime.firewall!.blockTtlMs = 48 * 3_600_000;
    });
    expect(violations(blockTtlBounded, longBlocks, { maxBlockTtl: "24h" })).toEqual([
      "program firewall-branch on node router-1: spec.runtime.firewall.blockTtlMs: 172800000 ms exceeds the bound of 24h",
    ]);
    const atBound = edited(firewall(), (p) => {
      p.spec.runtime.firewall!.blockTtlMs = 24 * 3_600_000;
    });
    expect(violations(blockTtlBounded, atBound, { maxBlockTtl: "24h" })).toEqual([]);
  });

  it("reports a bound that is not a duration", () => {
    expect(violations(blockTtlBounded, firewall(), { maxBlockTtl: "a day" })).toEqual([
      'config maxBlockTtl: expected a duration from 1ms to 30d such as "30s" or "5m", got "a day"',
    ]);
  });
});
