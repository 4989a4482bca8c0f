import { Config } from "@pulumi/pulumi/cmd/dynamic-provider/config";
import type { NodeProgram } from "@fos1/dpi/sdk/compile";
import { AGENT_CA_CONFIG, AGENT_TOKEN_CONFIG } from "@fos1/dpi/components/providers/agent-credentials";
import type {
  NodeProgramInputs,
  NodeProgramOutputs,
} from "@fos1/dpi/components/providers/node-program-inputs";
import { nodeProgramProvider as provider } from "@fos1/dpi/components/providers/node-program-provider";
import { qosPolicyYaml, ROUTING_POLICY_YAML } from "../../agent/test/dataplane/site";
import { compileOn, LabCertificateAuthority, labSite, ProviderLab, type KernelState } from "./provider-lab";

/**
 * The NodeProgram provider's methods, called as the Pulumi engine calls them,
 * against the real agent process programming a router namespace: what each
 * one leaves in the kernel is read back with nft, tc, ip and bpftool.
 */
jest.setTimeout(120_000);

const FIREWALL_POLICY_YAML = `apiVersion: networking.fos1.io/v1
kind: FirewallPolicy
metadata: { name: edge-firewall }
spec:
  blocks: { riskThreshold: 70, scope: source, ttl: 15m }
  applicationControl:
    - { name: no-p2p-for-guests, applications: [bittorrent], networkSegments: [guest], action: deny }
`;

const token = `pv-provider-token-${Math.random().toString(36).slice(2)}-0123456789`;
const ca = new LabCertificateAuthority();
const lab = new ProviderLab("router-1", "p", token, ca);

let baseline: KernelState;
let qos: NodeProgram;
let routing: NodeProgram;
let firewall: NodeProgram;
const created = new Map<string, { id: string; outs: NodeProgramOutputs }>();

/** The site's programs for the lab's node; `webMax` changes one QoS class. */
function programs(webMax?: string): Record<string, NodeProgram> {
  const site = labSite([{ node: lab.node, url: lab.url }]);
  const compiled = compileOn(
    site,
    [qosPolicyYaml("default-qos-policy", { webMax }), ROUTING_POLICY_YAML, FIREWALL_POLICY_YAML].join(
      "---\n",
    ),
  );
  return Object.fromEntries(compiled.map((p) => [p.metadata.name, p]));
}

function inputs(program: NodeProgram): NodeProgramInputs {
  return { agentUrl: lab.url, program };
}

/** The keys whose values differ between two records. */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .sort();
}

type NftObject = { table?: { name: string }; rule?: { table: string; chain: string; handle: number } };
const nftObjects = (k: KernelState) => (k.nft as { nftables: NftObject[] }).nftables;

beforeAll(async () => {
  await lab.setup();
  baseline = await lab.kernel();
  ({
    "qos-default-qos-policy": qos,
    "routing-application-routing": routing,
    "firewall-edge-firewall": firewall,
  } = programs());
  // Stack config as the engine hands it to the provider's configure: secrets already unwrapped.
  await provider.configure!({
    config: new Config({ [AGENT_TOKEN_CONFIG]: token, [AGENT_CA_CONFIG]: ca.cert }, "pv-test"),
  });
}, 120_000);

afterAll(async () => {
  await lab.teardown();
  ca.remove();
}, 60_000);

describe("the NodeProgram provider against a real agent", () => {
  it("create puts each program into the kernel and reports it applied, with no secret in its outputs", async () => {
    for (const program of [qos, routing, firewall]) {
      const checked = await provider.check!({} as NodeProgramInputs, inputs(program));
      expect(checked.failures).toEqual([]);
      const result = await provider.create(inputs(program));
      expect(result.id).toBe(`router-1/${program.metadata.name}`);
      expect(result.outs).toMatchObject({ agentUrl: lab.url, program, drift: [] });
      const state = JSON.stringify(result.outs);
      expect(state).not.toContain(token);
      expect(state).not.toContain("PRIVATE KEY");
      created.set(program.metadata.name, { id: result.id, outs: result.outs! });
    }

    const kernel = await lab.kernel();
    expect(nftObjects(kernel).flatMap((o) => (o.table ? [o.table.name] : []))).toContain(
      "fos1_firewall_edge_firewall",
    );
    expect(Object.keys(kernel.classes).sort()).toEqual(
      ["pvwan1", "pvwan2"]
        .flatMap((dev) => ["1:1", "1:10", "1:11", "1:12", "1:13"].map((c) => `${dev} ${c}`))
        .sort(),
    );
    expect(kernel.classes["pvwan2 1:12"]).toMatch(/rate 5Mbit ceil 30Mbit/);
    const markRules = (kernel.rules as { priority: number; fwmark?: string; table?: string }[])
      .filter((r) => r.fwmark !== undefined)
      .map((r) => `${r.fwmark} ${r.table}`);
    expect(markRules.sort()).toEqual(["0x10 101", "0x20 102"]);
    const uplinkRoutes = (kernel.routes as { table?: string; dst: string; gateway?: string; dev: string }[])
      .filter((r) => r.table === "101" || r.table === "102")
      .map((r) => `${r.table} ${r.dst} ${r.gateway} ${r.dev}`);
    expect(uplinkRoutes.sort()).toEqual([
      "101 default 198.51.100.1 pvwan1",
      "102 default 203.0.113.1 pvwan2",
    ]);
    for (const [map, entries] of Object.entries(kernel.maps))
      expect({ map, entries: (entries as unknown[]).length }).not.toEqual({
        map,
        entries: (baseline.maps[map] as unknown[]).length,
      });
  });

  it("check and diff of identical inputs report no change and make no request", async () => {
    const before = lab.connections;
    for (const program of [qos, routing, firewall]) {
      const { id, outs } = created.get(program.metadata.name)!;
      expect((await provider.check!(outs, inputs(program))).failures).toEqual([]);
      expect(await provider.diff!(id, outs, inputs(program))).toEqual({
        changes: false,
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
    expect(lab.connections).toBe(before);
  });

  it("update with one QoS class changed changes only that class in tc, nothing else in the kernel", async () => {
    const next = programs("50%")["qos-default-qos-policy"];
    const { id, outs } = created.get(qos.metadata.name)!;
    const before = lab.connections;
    expect(await provider.diff!(id, outs, inputs(next))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(lab.connections).toBe(before);

    const kernelBefore = await lab.kernel();
    const updated = await provider.update!(id, outs, inputs(next));
    const kernelAfter = await lab.kernel();
    expect(updated.outs).toMatchObject({ program: next, drift: [] });
    expect(updated.outs?.writes).toMatchObject({ maps: 0, nftables: 0, ip: 0 });
    expect(changedKeys(kernelBefore.classes, kernelAfter.classes)).toEqual(["pvwan1 1:12", "pvwan2 1:12"]);
    expect(kernelAfter.classes["pvwan1 1:12"]).toMatch(/ceil 50Mbit/);
    expect(kernelAfter.classes["pvwan2 1:12"]).toMatch(/ceil 25Mbit/);
    expect({ ...kernelAfter, classes: {} }).toEqual({ ...kernelBefore, classes: {} });
    qos = next;
    created.set(qos.metadata.name, { id, outs: updated.outs! });
  });

  it("read after a class is deleted out of band reports the drift, and the update it calls for repairs it", async () => {
    const { id, outs } = created.get(qos.metadata.name)!;
    const inSync = await lab.kernel();
    lab.exec("tc", ["class", "del", "dev", "pvwan2", "classid", "1:13"]);

    const read = await provider.read!(id, outs);
    expect(read.id).toBe(id);
    // The pvwan2 tree is spec.tc[1]; bulk (1:13) is its fifth class.
    expect(read.props?.drift).toEqual([{ path: "spec.tc[1].classes[4]", expected: "1:13", actual: null }]);
    expect(read.inputs).toEqual({ agentUrl: lab.url, program: qos });
    expect(JSON.stringify(read)).not.toContain(token);

    expect((await provider.diff!(id, read.props!, inputs(qos))).changes).toBe(true);
    const repaired = await provider.update!(id, read.props!, inputs(qos));
    expect(repaired.outs?.drift).toEqual([]);
    // The agent may rebuild the damaged tree: its leaf qdiscs then get new handles, the classes are as before.
    const withoutLeafHandles = (classes: Record<string, string>) =>
      Object.fromEntries(Object.entries(classes).map(([k, line]) => [k, line.replace(/ leaf \S+:/, "")]));
    expect(withoutLeafHandles((await lab.kernel()).classes)).toEqual(withoutLeafHandles(inSync.classes));
  });

  it("read after a firewall rule is deleted out of band reports the drift", async () => {
    const { id, outs } = created.get(firewall.metadata.name)!;
    const rule = nftObjects(await lab.kernel()).find(
      (o) => o.rule?.table === "fos1_firewall_edge_firewall",
    )!.rule!;
    lab.exec("nft", ["delete", "rule", "inet", rule.table, rule.chain, "handle", String(rule.handle)]);

    const read = await provider.read!(id, outs);
    expect(read.props?.drift).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/^spec\.nftables/) }),
    ]);
    const repaired = await provider.update!(id, read.props!, inputs(firewall));
    expect(repaired.outs?.drift).toEqual([]);
  });

  it("delete leaves nothing of the programs in the kernel, and deleting again succeeds", async () => {
    for (const program of [qos, routing, firewall]) {
      const { id, outs } = created.get(program.metadata.name)!;
      await provider.delete!(id, outs);
      expect(await lab.client.getProgram(program.metadata.name)).toBeUndefined();
    }
    expect(await lab.kernel()).toEqual(baseline);
    const { id, outs } = created.get(qos.metadata.name)!;
    await expect(provider.delete!(id, outs)).resolves.toBeUndefined();
    expect(await provider.read!(id, outs)).toEqual({});
  });
});
