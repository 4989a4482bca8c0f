/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk the untyped JSON inputs the mocks record */
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments } from "yaml";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AppRoutingPolicy,
  ComponentArgsError,
  DpiSensor,
  FirewallFastPath,
  QosPolicy,
} from "@fos1/dpi/components";
import { compileProgram, type PolicyDocument } from "@fos1/dpi/sdk/compile";
import { validateKind } from "@fos1/dpi/sdk/schema";
import { parseAgentConfig } from "@fos1/dpi/agent/src/config";
import {
  AGENT_TOKEN,
  REPO,
  isSecret,
  kubernetesObjects,
  recordRegistrations,
  setStackConfig,
  settle,
  unwrapSecrets,
  validateManifests,
  valueOf,
  type Registered,
} from "./components-harness";

const NODE_PROGRAM = "pulumi-nodejs:dynamic/fos1:NodeProgram";

function documentsOf(file: string): Record<string, { metadata: { name: string }; spec: unknown }> {
  const docs = parseAllDocuments(readFileSync(join(REPO, file), "utf8")).map((d) => d.toJS());
  return Object.fromEntries(docs.map((d) => [d.kind, d]));
}

const site = documentsOf("examples/sites/branch.yaml").Site;
const design = documentsOf("examples/policies/design.yaml");
const enforcement = documentsOf("examples/policies/fast-path.yaml");

jest.setTimeout(60_000);

let registered: Registered[];

beforeAll(() => {
  registered = recordRegistrations();
  setStackConfig({ "fos1:site": site, "fos1:agentToken": AGENT_TOKEN }, ["fos1:agentToken"]);
});

beforeEach(() => registered.splice(0));

const named = (prefix: string) => registered.filter((r) => r.name.startsWith(prefix));
const one = (type: string, name: string) => {
  const found = registered.filter((r) => r.type === type && r.name === name);
  expect(found).toHaveLength(1);
  return found[0].inputs as Record<string, any>;
};

function compiled(kind: PolicyDocument["kind"], name: string, spec: unknown, node: string) {
  const siteDoc = validateKind("Site", site);
  const doc = validateKind(kind, { apiVersion: "networking.fos1.io/v1", kind, metadata: { name }, spec });
  if (!siteDoc.ok || !doc.ok) throw new Error("example documents must be valid");
  return compileProgram(doc.value as PolicyDocument, siteDoc.value, node);
}

describe("QosPolicy", () => {
  it("registers the component, one NodeProgram per site node and the custom resource", async () => {
    const qos = new QosPolicy("default-qos-policy", { spec: design.QoSPolicy.spec as never });
    await settle(registered);
    expect(one("fos1:dpi:QosPolicy", "default-qos-policy")).toBeDefined();
    for (const node of ["router-1", "router-2"]) {
      const inputs = one(NODE_PROGRAM, `default-qos-policy-program-${node}`);
      expect(inputs.agentUrl).toBe(node === "router-1" ? "https://10.10.0.1:9443" : "https://10.10.0.2:9443");
      expect(inputs.program).toEqual(
        compiled("QoSPolicy", "default-qos-policy", design.QoSPolicy.spec, node),
      );
      expect(inputs.program.metadata).toMatchObject({ node, name: "qos-default-qos-policy" });
      // The node and the agent's program name are the program's own metadata, not inputs beside it.
      expect(Object.keys(inputs).sort()).toEqual(["__provider", "agentUrl", "program"]);
    }
    const resource = one("kubernetes:networking.fos1.io/v1:QoSPolicy", "default-qos-policy-custom-resource");
    expect(resource.metadata.name).toBe("default-qos-policy");
    expect(resource.metadata.labels["app.kubernetes.io/managed-by"]).toBe("pulumi");
    expect(resource.spec).toEqual(design.QoSPolicy.spec);
    expect(await valueOf(qos.programHashes)).toEqual({
      "router-1": compiled("QoSPolicy", "default-qos-policy", design.QoSPolicy.spec, "router-1").hash,
      "router-2": compiled("QoSPolicy", "default-qos-policy", design.QoSPolicy.spec, "router-2").hash,
    });
    const status = await valueOf(qos.nodeStatus);
    expect(status["router-2"]).toEqual({
      agentUrl: "https://10.10.0.2:9443",
      programName: "qos-default-qos-policy",
      hash: compiled("QoSPolicy", "default-qos-policy", design.QoSPolicy.spec, "router-2").hash,
      appliedAt: "2024-01-01T00:00:00Z",
      driftCount: 0,
    });
  });

  it("names the component and the path of an unknown application", () => {
    const spec = { classes: [{ name: "voip", applications: ["zooom"], priority: "high" }] };
    expect(() => new QosPolicy("bad-qos", { spec: spec as never })).toThrow(ComponentArgsError);
    expect(() => new QosPolicy("bad-qos-2", { spec: spec as never })).toThrow(
      /fos1:dpi:QosPolicy "bad-qos-2": invalid arguments\nspec\.classes\[0\]\.applications\[0\]: unknown application "zooom"; nearest known: zoom/,
    );
  });

  it("reports a bad policy name at policyName", () => {
    expect(
      () => new QosPolicy("q", { policyName: "Not_A_Name", spec: design.QoSPolicy.spec as never }),
    ).toThrow(/\npolicyName: /);
  });

  it("validates a spec that arrives as an Output when it resolves", async () => {
    const qos = new QosPolicy("late-qos", {
      spec: pulumi.output(design.QoSPolicy.spec) as never,
      customResource: false,
    });
    await settle(registered);
    expect(named("late-qos-custom-resource")).toHaveLength(0);
    expect(Object.keys(await valueOf(qos.programHashes))).toEqual(["router-1", "router-2"]);
  });

  it("takes the site from args over stack config, and reports a bad site under args.site", async () => {
    const oneNode = { ...site, spec: { ...(site.spec as object), nodes: [(site.spec as any).nodes[0]] } };
    new QosPolicy("one-node", { spec: design.QoSPolicy.spec as never, site: oneNode as never });
    await settle(registered);
    expect(registered.filter((r) => r.type === NODE_PROGRAM).map((r) => r.name)).toEqual([
      "one-node-program-router-1",
    ]);
    const broken = { ...site, spec: { ...(site.spec as object), uplinks: [] } };
    expect(
      () => new QosPolicy("broken", { spec: design.QoSPolicy.spec as never, site: broken as never }),
    ).toThrow(/\nargs\.site\.spec\.uplinks: a site needs at least one uplink/);
  });
});

describe("AppRoutingPolicy", () => {
  it("compiles the DESIGN.md routing policy for every node", async () => {
    new AppRoutingPolicy("application-routing", { spec: design.RoutingPolicy.spec as never });
    await settle(registered);
    const inputs = one(NODE_PROGRAM, "application-routing-program-router-2");
    expect(inputs.program).toEqual(
      compiled("RoutingPolicy", "application-routing", design.RoutingPolicy.spec, "router-2"),
    );
    expect(
      one("kubernetes:networking.fos1.io/v1:RoutingPolicy", "application-routing-custom-resource").spec,
    ).toEqual(design.RoutingPolicy.spec);
  });

  it("rejects an uplink the site does not have, at the rule's path", () => {
    const spec = { rules: [{ name: "r", applications: ["youtube"], action: { routeVia: "isp9" } }] };
    expect(() => new AppRoutingPolicy("bad-routing", { spec: spec as never })).toThrow(
      /\nspec\.rules\[0\]\.action\.routeVia: uplink "isp9" is not defined on site "branch"/,
    );
  });
});

describe("FirewallFastPath", () => {
  it("deploys a fast-path and a firewall program per node", async () => {
    const edge = new FirewallFastPath("branch", {
      fastPath: enforcement.FastPathPolicy.spec as never,
      firewall: enforcement.FirewallPolicy.spec as never,
    });
    await settle(registered);
    expect(
      registered
        .filter((r) => r.type === NODE_PROGRAM)
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      "branch-fastpath-router-1",
      "branch-fastpath-router-2",
      "branch-firewall-router-1",
      "branch-firewall-router-2",
    ]);
    expect(edge.programNames).toEqual(["fastpath-branch", "firewall-branch"]);
    expect(one(NODE_PROGRAM, "branch-firewall-router-1").program).toEqual(
      compiled("FirewallPolicy", "branch", enforcement.FirewallPolicy.spec, "router-1"),
    );
    expect(Object.keys(await valueOf(edge.nodeStatus))).toEqual(["fastpath-branch", "firewall-branch"]);
  });

  it("reports problems under the argument that holds them", () => {
    expect(
      () =>
        new FirewallFastPath("e1", {
          fastPath: {
            offload: [{ name: "x", applications: ["ssh"] }],
            sensitiveApplications: ["ssh"],
          } as never,
        }),
    ).toThrow(
      /\nfastPath\.offload\[0\]\.applications\[0\]: application "ssh" is also in sensitiveApplications/,
    );
    expect(
      () =>
        new FirewallFastPath("e2", {
          fastPath: {} as never,
          firewall: { blocks: { ttl: "30d" } } as never,
        }),
    ).toThrow(/\nfirewall\.blocks\.ttl: must be at most 7d/);
  });
});

describe("DpiSensor", () => {
  const spec = enforcement.DpiSensor.spec;

  it("emits Kubernetes objects that validate against the Kubernetes schemas", async () => {
    new DpiSensor("branch-sensors", {
      spec: { ...(spec as object), engines: ["suricata", "zeek", "nprobe", "ndpi"] } as never,
    });
    new QosPolicy("default-qos-policy", { spec: design.QoSPolicy.spec as never });
    new AppRoutingPolicy("application-routing", { spec: design.RoutingPolicy.spec as never });
    await settle(registered);
    const objects = kubernetesObjects(registered);
    const verdicts = validateManifests(objects);
    expect(verdicts.filter((v) => v.result === "invalid")).toEqual([]);
    const unmodelled = verdicts
      .filter((v) => v.result === "no-model")
      .map((v) => v.kind)
      .sort();
    expect(unmodelled).toEqual(["QoSPolicy", "RoutingPolicy", "ServiceMonitor"]);
    expect(
      verdicts
        .filter((v) => v.result === "valid")
        .map((v) => v.kind)
        .sort(),
    ).toEqual(
      [
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "CustomResourceDefinition",
        "CustomResourceDefinition",
        "DaemonSet",
        "DaemonSet",
        "DaemonSet",
        "DaemonSet",
        "DaemonSet",
        "Deployment",
        "Namespace",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "ServiceAccount",
        "ServiceAccount",
      ].sort(),
    );
    for (const object of objects as any[]) {
      expect(object.metadata.labels["app.kubernetes.io/part-of"]).toBe("fos1-dpi");
    }
  });

  it("runs the agent with exactly the capabilities it needs, on the site's nodes", async () => {
    new DpiSensor("s", { spec: spec as never });
    await settle(registered);
    const agent = one("kubernetes:apps/v1:DaemonSet", "s-agent").spec.template.spec;
    expect(agent.hostNetwork).toBe(true);
    expect(agent.priorityClassName).toBe("system-node-critical");
    expect(agent.tolerations).toEqual([{ operator: "Exists" }]);
    const [container] = agent.containers;
    expect(container.securityContext.capabilities).toEqual({
      add: ["BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"],
      drop: ["ALL"],
    });
    expect(container.securityContext.privileged).toBe(false);
    expect(container.livenessProbe.httpGet).toMatchObject({ path: "/healthz", scheme: "HTTPS" });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/readyz", scheme: "HTTPS" });
    expect(container.ports).toEqual([{ name: "api", containerPort: 9443, protocol: "TCP" }]);
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(
      expect.arrayContaining(["/sys/fs/bpf", "/run/fos1"]),
    );
    expect(
      agent.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
        .matchExpressions[0].values,
    ).toEqual(["router-1", "router-2"]);
    const namespace = one("kubernetes:core/v1:Namespace", "s-namespace");
    expect(namespace.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    const token = one("kubernetes:core/v1:Secret", "s-agent-token");
    expect(isSecret(token.stringData)).toBe(true);
    expect(unwrapSecrets(token)).toMatchObject({ stringData: { token: AGENT_TOKEN } });
  });

  it("gives every node an agent config file the agent accepts, with that node's interfaces", async () => {
    new DpiSensor("cfg", { spec: spec as never });
    await settle(registered);
    const data = one("kubernetes:core/v1:ConfigMap", "cfg-agent-config").data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(["router-1.yaml", "router-2.yaml"]);
    const router2 = parseAgentConfig(data["router-2.yaml"], "router-2.yaml");
    expect(router2.node).toBe("router-2");
    expect(router2.listen.port).toBe(9443);
    expect(router2.interfaces.uplinks).toEqual({ isp1: "wan1", isp2: "wan2", mpls: "mpls1" });
    expect(parseAgentConfig(data["router-1.yaml"], "router-1.yaml").interfaces.uplinks.mpls).toBe("mpls0");
    const pod = one("kubernetes:apps/v1:DaemonSet", "cfg-agent").spec.template.spec;
    expect(pod.containers[0].args).toEqual(["--config", "/etc/fos1/agent/$(FOS1_NODE_NAME).yaml"]);
    const mounts = Object.fromEntries(
      pod.containers[0].volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]),
    );
    expect(router2.tokenFile.startsWith(mounts.token + "/")).toBe(true);
    expect(router2.tls.certFile.startsWith(mounts.tls + "/")).toBe(true);
    expect(router2.stateDir).toBe(mounts.state);
  });

  it("sizes every engine at 1 CPU and 1 GiB per Gbit/s, never less than one of each", async () => {
    new DpiSensor("small", { spec: { ...(spec as object), expectedThroughput: "200Mbit" } as never });
    new DpiSensor("big", { spec: { ...(spec as object), expectedThroughput: "2.5Gbit" } as never });
    await settle(registered);
    for (const [name, cpu, memory] of [
      ["small", "1000m", "1024Mi"],
      ["big", "2500m", "2560Mi"],
    ]) {
      for (const engine of ["ndpi", "suricata"]) {
        const container = one("kubernetes:apps/v1:DaemonSet", `${name}-${engine}`).spec.template.spec
          .containers[0];
        expect(container.resources).toEqual({ requests: { cpu, memory }, limits: { cpu, memory } });
      }
    }
  });

  it("names sensor ConfigMaps by content, so a rule pin change is a new ConfigMap", async () => {
    const changed = {
      ...(spec as object),
      ruleSources: [{ ...(spec as any).ruleSources[0], sha256: "0".repeat(64) }],
    };
    new DpiSensor("a", { spec: spec as never });
    new DpiSensor("b", { spec: changed as never });
    await settle(registered);
    const configName = (n: string, engine: string) =>
      one("kubernetes:core/v1:ConfigMap", `${n}-${engine}-config`).metadata.name as string;
    expect(configName("a", "suricata")).toMatch(/^a-suricata-[0-9a-f]{10}$/);
    expect(configName("a", "suricata").slice(2)).not.toBe(configName("b", "suricata").slice(2));
    expect(configName("a", "ndpi").slice(2)).toBe(configName("b", "ndpi").slice(2));
    const pod = one("kubernetes:apps/v1:DaemonSet", "b-suricata").spec.template;
    expect(pod.spec.volumes[0].configMap.name).toBe(configName("b", "suricata"));
    expect(one("kubernetes:core/v1:ConfigMap", "b-suricata-config").data["rule-sources.list"]).toContain(
      `et-open ${"0".repeat(64)} https://`,
    );
  });

  it("generates CRD schemas that accept the DESIGN.md documents' spec form", async () => {
    new DpiSensor("crds", { spec: spec as never });
    await settle(registered);
    const crd = one("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "crds-crd-qospolicy");
    const schema = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(schema.properties.classes.items.properties.bandwidth.properties.min).toEqual({
      x_kubernetes_int_or_string: true,
    });
    expect(schema.properties.classes.items.required).toEqual(["name", "priority"]);
    expect(JSON.stringify(schema)).not.toContain("additionalProperties");
  });

  it("requires the agent token in stack config when deploying to a cluster", () => {
    setStackConfig({ "fos1:site": site });
    try {
      expect(() => new DpiSensor("no-token", { spec: spec as never })).toThrow(
        /\nfos1:agentToken: required: pulumi config set --secret fos1:agentToken <token>/,
      );
      expect(() => new DpiSensor("no-cluster", { spec: spec as never, kubernetes: false })).not.toThrow();
    } finally {
      setStackConfig({ "fos1:site": site, "fos1:agentToken": AGENT_TOKEN }, ["fos1:agentToken"]);
    }
  });

  it("refuses agent URLs with different ports in a cluster", () => {
    const mixed = structuredClone(site) as any;
    mixed.spec.nodes[1].agent.url = "https://10.10.0.2:8443";
    expect(() => new DpiSensor("ports", { spec: spec as never, site: mixed })).toThrow(
      /\nsite\.spec\.nodes\[1\]\.agent\.url: port 8443 differs/,
    );
  });
});
