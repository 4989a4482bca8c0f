import { programHash, type NodeProgram } from "@fos1/dpi/sdk/compile";
import { environmentConfig } from "@fos1/dpi/components/providers/agent-credentials";
import { stableModuleSpecifier } from "@fos1/dpi/components/providers/module-path";
import { checkNodeProgram, diffNodeProgram, UNKNOWN } from "@fos1/dpi/components/providers/node-program-diff";
import type {
  NodeProgramInputs,
  NodeProgramOutputs,
} from "@fos1/dpi/components/providers/node-program-inputs";
import * as operations from "@fos1/dpi/components/providers/node-program-operations";
import { nodeProgramProvider } from "@fos1/dpi/components/providers/node-program-provider";
import { fakeKernel } from "../../agent/test/unit/fixtures/fake-reconciler";
import { goldenProgram } from "../../agent/test/unit/fixtures/programs";
import { eventually, startTestAgent, type TestAgent } from "../../agent/test/unit/fixtures/test-agent";

const qos = goldenProgram("qos-default-qos-policy");

function inputsFor(program: NodeProgram, agentUrl = "https://10.10.0.1:9443"): NodeProgramInputs {
  return { agentUrl, program };
}

function stateFor(program: NodeProgram, drift: NodeProgramOutputs["drift"] = []): NodeProgramOutputs {
  return { ...inputsFor(program), appliedAt: "2024-01-01T00:00:00Z", drift };
}

/** The QoS program with one class's ceiling changed, rehashed as the compiler would. */
function withCeiling(program: NodeProgram, classIndex: number, ceilBps: number): NodeProgram {
  const spec = structuredClone(program.spec);
  spec.tc[0].classes[classIndex].ceilBps = ceilBps;
  return { ...program, spec, hash: programHash(program.metadata, spec) };
}

/** The program with other metadata (another name or node), rehashed as the compiler would. */
function relabelled(program: NodeProgram, change: Partial<NodeProgram["metadata"]>): NodeProgram {
  const metadata = { ...program.metadata, ...change };
  return { ...program, metadata, hash: programHash(metadata, program.spec) };
}

describe("diff is pure and replaces only for a different program or agent", () => {
  it("identical inputs: no changes", () => {
    expect(diffNodeProgram(stateFor(qos), inputsFor(qos))).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("one class changed: an update in place", () => {
    expect(diffNodeProgram(stateFor(qos), inputsFor(withCeiling(qos, 4, 12_345_000)))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("a renamed program on the same agent is replaced, the old one deleted first", () => {
    const next = relabelled(qos, { name: "qos-other" });
    expect(diffNodeProgram(stateFor(qos), inputsFor(next))).toEqual({
      changes: true,
      replaces: ["program.metadata.name"],
      deleteBeforeReplace: true,
    });
  });

  it("a program for another node is replaced", () => {
    const next = relabelled(qos, { node: "router-2" });
    expect(diffNodeProgram(stateFor(qos), inputsFor(next))).toEqual({
      changes: true,
      replaces: ["program.metadata.node"],
      deleteBeforeReplace: true,
    });
  });

  it("another site's program under the same node and name is an update, not a replacement", () => {
    const next = relabelled(qos, { site: "another-site" });
    expect(diffNodeProgram(stateFor(qos), inputsFor(next))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("another agent is a replacement that may create first", () => {
    expect(diffNodeProgram(stateFor(qos), inputsFor(qos, "https://10.10.0.9:9443"))).toEqual({
      changes: true,
      replaces: ["agentUrl"],
      deleteBeforeReplace: false,
    });
  });

  it("drift found by a refresh is repaired by an update", () => {
    const drift = [{ path: "spec.tc[0].classes[2].ceilBps", expected: 1, actual: 2 }];
    expect(diffNodeProgram(stateFor(qos, drift), inputsFor(qos))).toMatchObject({
      changes: true,
      replaces: [],
    });
  });

  it("a program not known until apply is a change; only a known new agent replaces then", () => {
    const news = { ...inputsFor(qos), program: UNKNOWN as unknown as NodeProgram };
    expect(diffNodeProgram(stateFor(qos), news)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const unknownMetadata = { ...qos, metadata: UNKNOWN as unknown as NodeProgram["metadata"] };
    expect(diffNodeProgram(stateFor(qos), { ...inputsFor(qos), program: unknownMetadata })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(diffNodeProgram(stateFor(qos), { ...news, agentUrl: "https://10.10.0.9:9443" })).toEqual({
      changes: true,
      replaces: ["agentUrl"],
      deleteBeforeReplace: false,
    });
  });
});

describe("check validates with the agent API's schema", () => {
  it("accepts a compiled program", () => {
    expect(checkNodeProgram(inputsFor(qos)).failures).toEqual([]);
  });

  it("names the path of a field the agent would refuse", () => {
    const spec = structuredClone(qos.spec);
    spec.tc[0].classes[1].rateBps = -1;
    const bad = { ...qos, spec, hash: programHash(qos.metadata, spec) };
    expect(checkNodeProgram(inputsFor(bad)).failures).toEqual([
      { property: "program.spec.tc[0].classes[1].rateBps", reason: expect.any(String) },
    ]);
  });

  it("refuses a program edited after compiling, a bad node name and a plain-http agent", () => {
    const edited = { ...qos, spec: withCeiling(qos, 1, 5_000_000).spec };
    expect(checkNodeProgram(inputsFor(edited)).failures).toEqual([
      { property: "program.hash", reason: "does not match the program's content" },
    ]);
    expect(checkNodeProgram(inputsFor(relabelled(qos, { node: "Router_1" }))).failures).toEqual([
      { property: "program.metadata.node", reason: expect.any(String) },
    ]);
    expect(checkNodeProgram(inputsFor(qos, "http://10.10.0.1:9443")).failures).toEqual([
      { property: "agentUrl", reason: "must be an https URL (the agent API carries credentials)" },
    ]);
  });

  it("leaves values not known during preview to the apply", () => {
    expect(
      checkNodeProgram({ ...inputsFor(qos), program: UNKNOWN as unknown as NodeProgram }).failures,
    ).toEqual([]);
  });
});

describe("credentials and module paths", () => {
  it("reads the token and CA from the engine's config environment", () => {
    const config = environmentConfig({
      PULUMI_CONFIG: JSON.stringify({ "fos1:agentToken": "t0k3n", "fos1:agentCa": "PEM" }),
    });
    expect(config.get("fos1:agentToken")).toBe("t0k3n");
    expect(environmentConfig({ PULUMI_CONFIG: "not json" }).get("fos1:agentToken")).toBeUndefined();
  });

  it("requires provider modules by package path when installed, by absolute path in a checkout", () => {
    expect(
      stableModuleSpecifier(
        "/ci/app/node_modules/@fos1/dpi/dist/components/providers/node-program-operations.js",
      ),
    ).toBe("@fos1/dpi/dist/components/providers/node-program-operations");
    expect(stableModuleSpecifier("/work/repo/components/providers/node-program-operations.ts")).toBe(
      "/work/repo/components/providers/node-program-operations",
    );
  });
});

describe("create, update, read and delete against the agent API", () => {
  let kernel: ReturnType<typeof fakeKernel>;
  let agent: TestAgent;

  beforeEach(async () => {
    kernel = fakeKernel();
    agent = await startTestAgent(kernel.all);
    await eventually(() => agent.agent.engine.ready);
    await nodeProgramProvider.configure!({
      config: {
        get: (key) => ({ "fos1:agentToken": agent.token, "fos1:agentCa": agent.ca })[key],
        require: (key) => key,
      },
    });
  });
  afterEach(() => agent.agent.stop());

  const inputs = (program: NodeProgram) => inputsFor(program, agent.agent.url);

  it("create puts the program and reports it applied, with no credential in the outputs", async () => {
    const created = await nodeProgramProvider.create(inputs(qos));
    expect(created.id).toBe("router-1/qos-default-qos-policy");
    expect(created.outs).toEqual({
      agentUrl: agent.agent.url,
      program: qos,
      appliedAt: expect.any(String),
      drift: [],
      writes: expect.any(Object),
    });
    expect(JSON.stringify(created.outs)).not.toContain(agent.token);
    expect((await agent.client.getProgram(qos.metadata.name))?.program.hash).toBe(qos.hash);
    expect(kernel.tc.kernel.get("tc.wan1")).toBe(JSON.stringify(qos.spec.tc[0]));
  });

  it("update with one class changed changes only that uplink's tree", async () => {
    const created = await nodeProgramProvider.create(inputs(qos));
    const before = kernel.snapshot();
    const next = withCeiling(qos, 4, 12_345_000);
    const updated = await nodeProgramProvider.update!(created.id, created.outs!, inputs(next));
    expect(updated.outs?.program.hash).toBe(next.hash);
    expect(updated.outs?.writes).toEqual({ maps: 0, nftables: 0, tc: 1, ip: 0 });
    const after = kernel.snapshot();
    expect(after.maps).toEqual(before.maps);
    expect(after.tc["tc.wan1"]).toBe(JSON.stringify(next.spec.tc[0]));
    expect(after.tc["tc.wan2"]).toBe(before.tc["tc.wan2"]);
  });

  it("read reports kernel drift, and the next diff repairs it", async () => {
    const created = await nodeProgramProvider.create(inputs(qos));
    kernel.tc.kernel.delete("tc.wan2");
    const read = await nodeProgramProvider.read!(created.id, created.outs);
    expect(read.id).toBe(created.id);
    expect(read.props?.drift).toEqual([{ path: "spec.tc.wan2", expected: expect.any(String), actual: null }]);
    expect(read.inputs).toEqual({ agentUrl: agent.agent.url, program: qos });
    expect((await nodeProgramProvider.diff!(created.id, read.props!, inputs(qos))).changes).toBe(true);
    expect((await nodeProgramProvider.diff!(created.id, created.outs!, inputs(qos))).changes).toBe(false);
  });

  it("read of a program the agent no longer has reports it gone", async () => {
    const created = await nodeProgramProvider.create(inputs(qos));
    await agent.client.deleteProgram(qos.metadata.name);
    expect(await nodeProgramProvider.read!(created.id, created.outs)).toEqual({});
  });

  it("delete removes exactly what the program owns, and deleting again succeeds", async () => {
    const firewall = goldenProgram("firewall-branch-firewall");
    await nodeProgramProvider.create(inputs(firewall));
    const created = await nodeProgramProvider.create(inputs(qos));
    await nodeProgramProvider.delete!(created.id, created.outs!);
    expect(await agent.client.getProgram(qos.metadata.name)).toBeUndefined();
    expect(kernel.tc.kernel.size).toBe(0);
    expect(kernel.nftables.kernel.size).toBe(1);
    await expect(nodeProgramProvider.delete!(created.id, created.outs!)).resolves.toBeUndefined();
  });

  it("fails with the agent's reason when the token is wrong", async () => {
    operations.configure({ get: (key) => (key === "fos1:agentToken" ? "wrong-token-0123456789" : agent.ca) });
    await expect(nodeProgramProvider.create(inputs(qos))).rejects.toThrow(/401/);
  });
});
