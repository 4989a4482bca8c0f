import { parse as parseYaml } from "yaml";
import { AgentClient } from "@fos1/dpi/sdk/agent-api";
import { FINALIZER } from "@fos1/dpi/agent/src/controller/policy-resource";
import { reconcileResource, type ReconcileContext } from "@fos1/dpi/agent/src/controller/reconcile";
import { qosPolicyYaml, ROUTING_POLICY_YAML } from "../../agent/test/dataplane/site";
import { compileOn, LabCertificateAuthority, labSite, ProviderLab } from "./provider-lab";

/**
 * The controller's reconcile function with custom resources as the API server
 * stores them, against two real agents, each programming its own router
 * namespace: what it leaves in each kernel, and the status it returns.
 */
jest.setTimeout(120_000);

const token = `pv-controller-token-${Math.random().toString(36).slice(2)}-0123456789`;
const ca = new LabCertificateAuthority();
const labs = [new ProviderLab("router-1", "c1", token, ca), new ProviderLab("router-2", "c2", token, ca)];
let context: ReconcileContext;
let generation = 0;

/** A custom resource as `kubectl get -o json` shows one created by `kubectl apply -f` of `yaml`. */
function stored(
  yaml: string,
  extra: { finalizers?: string[]; deletionTimestamp?: string; labels?: Record<string, string> } = {},
) {
  const document = parseYaml(yaml) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: unknown;
  };
  generation += 1;
  return {
    ...document,
    metadata: {
      name: document.metadata.name,
      uid: "6f1c2d3e-0000-4000-8000-00000000000" + (generation % 10),
      generation,
      resourceVersion: String(1000 + generation),
      creationTimestamp: "2024-05-01T10:00:00Z",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(document) },
      managedFields: [
        { manager: "kubectl-client-side-apply", operation: "Update", apiVersion: document.apiVersion },
      ],
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
      ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp } : {}),
    },
  };
}

const qosClasses = async (lab: ProviderLab) => Object.keys((await lab.kernel()).classes).sort();

beforeAll(async () => {
  await Promise.all(labs.map((lab) => lab.setup()));
  const site = labSite(labs.map((lab) => ({ node: lab.node, url: lab.url })));
  const cert = ca.cert;
  context = {
    site,
    agentFor: (node) => new AgentClient({ url: node.agent.url, token, ca: cert, timeoutMs: 10_000 }),
  };
}, 120_000);

afterAll(async () => {
  await Promise.all(labs.map((lab) => lab.teardown()));
  ca.remove();
}, 60_000);

describe("reconciling policy custom resources into the agents", () => {
  it("a new QoSPolicy is compiled and applied on every node, gets the finalizer and a per-node status", async () => {
    const outcome = await reconcileResource(stored(qosPolicyYaml("default-qos-policy")), context);
    const compiled = compileOn(context.site, qosPolicyYaml("default-qos-policy"));
    expect(outcome).toEqual({
      kind: "QoSPolicy",
      name: "default-qos-policy",
      finalizers: [FINALIZER],
      status: {
        observedGeneration: generation,
        applied: "2/2",
        problems: [],
        nodes: compiled.map((p) => ({
          node: p.metadata.node,
          program: "qos-default-qos-policy",
          hash: p.hash,
          appliedAt: expect.any(String),
          drift: 0,
        })),
      },
    });
    for (const lab of labs) {
      expect(await qosClasses(lab)).toEqual(
        ["pvwan1", "pvwan2"]
          .flatMap((dev) => ["1:1", "1:10", "1:11", "1:12", "1:13"].map((c) => `${dev} ${c}`))
          .sort(),
      );
    }
  });

  it("a changed spec updates the programs, and reconciling it again writes nothing", async () => {
    const changed = stored(qosPolicyYaml("default-qos-policy", { webMax: "50%" }), {
      finalizers: [FINALIZER],
    });
    const outcome = await reconcileResource(changed, context);
    expect(outcome.finalizers).toBeUndefined();
    expect(outcome.status?.applied).toBe("2/2");
    for (const lab of labs) expect((await lab.kernel()).classes["pvwan1 1:12"]).toMatch(/ceil 50Mbit/);

    const before = await Promise.all(labs.map((lab) => lab.kernel()));
    const again = await reconcileResource(changed, context);
    expect(again.status).toEqual(outcome.status);
    expect(await Promise.all(labs.map((lab) => lab.kernel()))).toEqual(before);
  });

  it("a RoutingPolicy puts its mark rules and uplink routes on every node", async () => {
    const outcome = await reconcileResource(stored(ROUTING_POLICY_YAML), context);
    expect(outcome.status?.applied).toBe("2/2");
    for (const lab of labs) {
      const rules = (await lab.kernel()).rules as { fwmark?: string; table?: string }[];
      expect(
        rules
          .filter((r) => r.fwmark)
          .map((r) => `${r.fwmark} ${r.table}`)
          .sort(),
      ).toEqual(["0x10 101", "0x20 102"]);
    }
  });

  it("an invalid spec is applied nowhere; the status names each problem at its path", async () => {
    const before = await Promise.all(labs.map((lab) => lab.kernel()));
    const invalid = stored(
      qosPolicyYaml("guest-qos").replace('"zoom"]', '"zooom"]').replace("priority: low", "priority: urgent"),
    );
    const outcome = await reconcileResource(invalid, context);
    expect(outcome.finalizers).toBeUndefined();
    expect(outcome.status).toMatchObject({ applied: "0/2", observedGeneration: generation });
    expect(outcome.status?.problems).toEqual([
      {
        path: "spec.classes[0].applications[4]",
        message: 'unknown application "zooom"; nearest known: zoom, cloud, doh',
      },
      { path: "spec.classes[2].priority", message: 'Invalid option: expected one of "high"|"medium"|"low"' },
    ]);
    for (const [i, lab] of labs.entries()) {
      expect(await lab.client.getProgram("qos-guest-qos")).toBeUndefined();
      expect(await lab.kernel()).toEqual(before[i]);
    }
  });

  it("a resource a Pulumi stack created is reported on, never programmed", async () => {
    const managed = stored(qosPolicyYaml("stack-qos", { uplinks: ["isp2"] }), {
      labels: { "app.kubernetes.io/managed-by": "pulumi" },
    });
    const before = labs[0].connections;
    const outcome = await reconcileResource(managed, context);
    expect(outcome.finalizers).toBeUndefined();
    expect(outcome.status?.applied).toBe("0/2");
    expect(outcome.status?.nodes.map((n) => n.error)).toEqual([
      "the agent holds no such program",
      "the agent holds no such program",
    ]);
    expect(labs[0].connections).toBe(before + 1);
    expect(await labs[0].client.getProgram("qos-stack-qos")).toBeUndefined();
  });

  it("a node whose agent is unreachable gets the error in its entry; the others are applied", async () => {
    const withDeadNode = labSite([
      ...labs.map((lab) => ({ node: lab.node, url: lab.url })),
      { node: "router-3", url: "https://127.0.0.1:9" },
    ]);
    const outcome = await reconcileResource(stored(ROUTING_POLICY_YAML, { finalizers: [FINALIZER] }), {
      ...context,
      site: withDeadNode,
    });
    expect(outcome.status?.applied).toBe("2/3");
    expect(outcome.status?.nodes[2]).toEqual({
      node: "router-3",
      program: "routing-application-routing",
      error: expect.stringContaining("ECONNREFUSED"),
    });
  });

  it("a deleted resource has its programs removed from every node, then its finalizer released", async () => {
    const deleting = stored(qosPolicyYaml("default-qos-policy", { webMax: "50%" }), {
      finalizers: ["example.com/other", FINALIZER],
      deletionTimestamp: "2024-05-01T11:00:00Z",
    });
    const outcome = await reconcileResource(deleting, context);
    expect(outcome).toEqual({
      kind: "QoSPolicy",
      name: "default-qos-policy",
      finalizers: ["example.com/other"],
    });
    for (const lab of labs) {
      expect(await lab.client.getProgram("qos-default-qos-policy")).toBeUndefined();
      expect(await qosClasses(lab)).toEqual([]);
      expect(await lab.client.getProgram("routing-application-routing")).toBeDefined();
    }
    const gone = await reconcileResource(
      stored(ROUTING_POLICY_YAML, { finalizers: [FINALIZER], deletionTimestamp: "2024-05-01T11:00:00Z" }),
      context,
    );
    expect(gone.finalizers).toEqual([]);
    for (const lab of labs) expect((await lab.client.listPrograms()).programs).toEqual([]);
  });
});
