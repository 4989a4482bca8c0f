import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as programBody from "@fos1/dpi/agent/src/api/program-body";
import { AgentError, apiError } from "@fos1/dpi/sdk/agent-api";
import * as nodeProgramModule from "@fos1/dpi/sdk/compile/node-program";
import { sealProgram } from "@fos1/dpi/sdk/compile/node-program";
import { fakeKernel } from "./fixtures/fake-reconciler";
import { hostileBodies } from "./fixtures/hostile-bodies";
import { goldenProgram, kernelProgram, rehash } from "./fixtures/programs";
import { eventually, startTestAgent, type TestAgent } from "./fixtures/test-agent";

const firewall = goldenProgram("firewall-branch-firewall");
const qos = goldenProgram("qos-default-qos-policy");
const routing = goldenProgram("routing-application-routing");
const sample = kernelProgram("firewall-sample", "router-1", {
  name: "isp1",
  device: "wan1",
  gateway: "198.51.100.1",
  table: 101,
  mark: 0x10,
  bandwidthBps: 100_000_000,
});

let kernel: ReturnType<typeof fakeKernel>;
let t: TestAgent;

beforeEach(async () => {
  kernel = fakeKernel();
  t = await startTestAgent(kernel.all, { maxBodyBytes: 4 * 1024 * 1024 });
  await eventually(() => t.agent.engine.ready);
});
afterEach(() => t.agent.stop());

const storedFiles = () => readdirSync(join(t.stateDir, "programs")).sort();

describe("agent API: the program lifecycle through AgentClient", () => {
  it("PUT applies, GET shows no drift, a second PUT writes nothing, DELETE removes exactly that program", async () => {
    const first = await t.client.putProgram(qos);
    expect(first.writes).toEqual({ maps: 21, nftables: 0, tc: qos.spec.tc.length, ip: 0 });
    await t.client.putProgram(firewall);

    const state = await t.client.getProgram(qos.metadata.name);
    expect(state?.program).toEqual(qos);
    expect(state?.drift).toEqual([]);
    expect((await t.client.putProgram(qos)).writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
    expect((await t.client.listPrograms()).programs.map((p) => p.name)).toEqual([
      "firewall-branch-firewall",
      "qos-default-qos-policy",
    ]);
    expect(storedFiles()).toEqual(["firewall-branch-firewall.json", "qos-default-qos-policy.json"]);

    const deleted = await t.client.deleteProgram(qos.metadata.name);
    expect(deleted?.writes).toEqual({ maps: 21, nftables: 0, tc: qos.spec.tc.length, ip: 0 });
    // What stays is the firewall's: its application-control deny entries and its table.
    expect(kernel.maps.kernel.size).toBe(firewall.spec.maps.fos1_app_deny!.length);
    expect(kernel.nftables.kernel.size).toBe(1);
    expect(await t.client.getProgram(qos.metadata.name)).toBeUndefined();
    expect(await t.client.deleteProgram(qos.metadata.name)).toBeUndefined();
    expect(storedFiles()).toEqual(["firewall-branch-firewall.json"]);
  });

  it("GET reports drift in NodeProgram paths after the kernel changed behind the agent's back", async () => {
    await t.client.putProgram(routing);
    kernel.ip.kernel.delete(`ipRules.${routing.spec.ipRules[1].priority}`);
    const state = await t.client.getProgram(routing.metadata.name);
    expect(state?.drift).toEqual([
      {
        path: `spec.ipRules.${routing.spec.ipRules[1].priority}`,
        expected: expect.any(String),
        actual: null,
      },
    ]);
  });

  it("answers version and metrics", async () => {
    expect(await t.client.version()).toEqual({ version: "0.1.0", api: "v1", node: "router-1" });
    await t.client.putProgram(firewall);
    const metrics = await t.request("GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers["content-type"]).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('fos1_agent_apply_duration_seconds_count{operation="put",outcome="ok"} 1');
    expect(metrics.text).toContain('fos1_agent_kernel_writes_total{subsystem="nftables",cause="apply"} 1');
    expect(metrics.text).toMatch(/^fos1_agent_programs 1$/m);
    expect(metrics.text).toMatch(/^fos1_agent_ready 1$/m);
  });

  it("409 names the path two programs both claim, and changes nothing", async () => {
    await t.client.putProgram(qos);
    const before = kernel.snapshot();
    const rival = rehash(qos, (p) => {
      p.metadata.name = "qos-rival";
      p.spec.maps = {};
    });
    const error = (await t.client.putProgram(rival).catch((e: unknown) => e)) as AgentError;
    expect(error).toBeInstanceOf(AgentError);
    expect(error.status).toBe(409);
    expect(error.problems).toEqual([{ path: "spec.tc.wan1", message: expect.stringContaining("qos-rival") }]);
    expect(kernel.snapshot()).toEqual(before);
    expect(storedFiles()).toEqual(["qos-default-qos-policy.json"]);
  });

  it("500 when a subsystem fails, with the previous state restored", async () => {
    await t.client.putProgram(sample);
    const before = kernel.snapshot();
    kernel.ip.failures = 1;
    const changed = rehash(sample, (p) => (p.spec.ipRules[0].priority = 1500));
    const error = (await t.client.putProgram(changed).catch((e: unknown) => e)) as AgentError;
    expect(error.status).toBe(500);
    expect(error.message).toMatch(
      /applying ip failed: ip refused the change; the previous state was restored/,
    );
    expect(kernel.snapshot()).toEqual(before);
    expect((await t.client.getProgram(sample.metadata.name))?.program.hash).toBe(sample.hash);
  });
});

describe("agent API: a PUT of the bytes already stored", () => {
  const path = `/v1/programs/${routing.metadata.name}`;
  const bytes = JSON.stringify(routing);
  const put = async (body: string) => {
    const res = await t.request("PUT", path, { body });
    return { status: res.status, writes: (res.json as { writes?: unknown }).writes };
  };

  afterEach(() => jest.restoreAllMocks());

  it("is the stored program: applied without parsing the body again, and the kernel still repaired", async () => {
    expect((await put(bytes)).status).toBe(200);
    const parse = jest.spyOn(programBody, "parseProgramBody");
    expect(await put(bytes)).toEqual({ status: 200, writes: { maps: 0, nftables: 0, tc: 0, ip: 0 } });
    kernel.ip.kernel.delete(`ipRules.${routing.spec.ipRules[1].priority}`);
    expect(await put(bytes)).toEqual({ status: 200, writes: { maps: 0, nftables: 0, tc: 0, ip: 1 } });
    expect(parse).not.toHaveBeenCalled();
    expect(kernel.ip.kernel.has(`ipRules.${routing.spec.ipRules[1].priority}`)).toBe(true);
  });

  it("is recognised from the stored file after a restart", async () => {
    expect((await put(bytes)).status).toBe(200);
    await t.agent.stop();
    t = await startTestAgent(kernel.all, { stateDir: t.stateDir });
    await t.agent.engine.reconcile();
    const parse = jest.spyOn(programBody, "parseProgramBody");
    expect(await put(bytes)).toEqual({ status: 200, writes: { maps: 0, nftables: 0, tc: 0, ip: 0 } });
    expect(parse).not.toHaveBeenCalled();
  });

  it("differing in any byte, is parsed and checked in full", async () => {
    expect((await put(bytes)).status).toBe(200);
    const before = kernel.snapshot();
    const file = readFileSync(join(t.stateDir, "programs", `${routing.metadata.name}.json`));
    const tampered = bytes.replace(`"priority":${routing.spec.ipRules[0].priority}`, '"priority":4242');
    expect(tampered).not.toBe(bytes);
    expect(await put(tampered)).toEqual({ status: 400, writes: undefined });
    expect(await put(bytes + " x")).toEqual({ status: 400, writes: undefined });
    expect(await put(bytes.slice(0, -1))).toEqual({ status: 400, writes: undefined });
    expect(kernel.snapshot()).toEqual(before);
    expect(readFileSync(join(t.stateDir, "programs", `${routing.metadata.name}.json`))).toEqual(file);
    // The same program in other bytes is the same program: nothing to write.
    const parse = jest.spyOn(programBody, "parseProgramBody");
    const reformatted = await put(JSON.stringify(routing, null, 2));
    expect(reformatted).toEqual({ status: 200, writes: { maps: 0, nftables: 0, tc: 0, ip: 0 } });
    expect(parse).toHaveBeenCalledTimes(1);
  });
});

describe("agent API: the hash of a PUT body", () => {
  afterEach(() => jest.restoreAllMocks());

  it("of a sealed program is shown by its bytes: the engine does not serialise it again", async () => {
    const hashed = jest.spyOn(nodeProgramModule, "hashMatches");
    const sealed = sealProgram(routing.metadata, routing.spec);
    expect((await t.client.putProgram(sealed)).hash).toBe(routing.hash);
    expect(hashed).not.toHaveBeenCalled();
  });

  it("of anything else is checked in full, and a wrong one refused", async () => {
    const hashed = jest.spyOn(nodeProgramModule, "hashMatches");
    expect((await t.client.putProgram(routing)).hash).toBe(routing.hash);
    expect(hashed).toHaveBeenCalledTimes(1);
    const before = kernel.snapshot();
    const forged = sealProgram(routing.metadata, routing.spec);
    forged.spec.ipRules[0].priority += 1;
    await expect(t.client.putProgram(forged)).rejects.toMatchObject({ status: 400 });
    expect(kernel.snapshot()).toEqual(before);
  });
});

describe("agent API: authentication", () => {
  const attempts: [string, string, string | undefined][] = [
    ["GET", "/v1/programs", undefined],
    ["GET", "/v1/version", undefined],
    ["GET", "/metrics", undefined],
    ["GET", `/v1/programs/${qos.metadata.name}`, undefined],
    ["DELETE", `/v1/programs/${qos.metadata.name}`, undefined],
    ["PUT", `/v1/programs/${routing.metadata.name}`, JSON.stringify(routing)],
    ["PUT", "/v1/programs/x", "not even json"],
    ["POST", "/v1/nothing-here", "{}"],
  ];
  const headers: [string, Record<string, string>][] = [
    ["no header", {}],
    ["a wrong token", { authorization: "Bearer wrong-token-0123456789" }],
    ["basic auth", { authorization: "Basic dXNlcjpwYXNz" }],
  ];

  it.each(headers)("answers 401 with %s on every route, and has no effect", async (_, header) => {
    await t.client.putProgram(qos);
    const before = kernel.snapshot();
    const applies = kernel.all.map((r) => r.applies);
    for (const [method, path, body] of attempts) {
      const res = await t.request(method, path, { body, headers: header, auth: false });
      expect([method, path, res.status]).toEqual([method, path, 401]);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="fos1-dpi-agent"');
      expect(apiError.parse(res.json).error).toBe("missing or wrong bearer token");
    }
    expect(kernel.snapshot()).toEqual(before);
    expect(kernel.all.map((r) => r.applies)).toEqual(applies);
    expect(storedFiles()).toEqual(["qos-default-qos-policy.json"]);
  });

  it("serves the probes without a token", async () => {
    expect((await t.request("GET", "/healthz", { auth: false })).json).toMatchObject({
      ok: true,
      programs: 0,
    });
    const ready = await t.request("GET", "/readyz", { auth: false });
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ ok: true, programs: 0, lastReconcile: expect.any(String) });
  });
});

describe("agent API: refusals", () => {
  it.each(hostileBodies(sample).map((c) => [c.name, c] as const))(
    "refuses %s without touching the kernel or the store",
    async (_, c) => {
      await t.client.putProgram(firewall);
      const before = kernel.snapshot();
      const applies = kernel.all.map((r) => r.applies);
      const res = await t.request("PUT", `/v1/programs/${c.urlName ?? sample.metadata.name}`, {
        body: c.body,
        headers: c.contentType ? { "content-type": c.contentType } : {},
      });
      expect(res.status).toBe(c.status);
      const body = apiError.parse(res.json);
      if (c.path !== undefined) expect(body.problems.map((p) => p.path)).toContain(c.path);
      expect(kernel.snapshot()).toEqual(before);
      expect(kernel.all.map((r) => r.applies)).toEqual(applies);
      expect(storedFiles()).toEqual(["firewall-branch-firewall.json"]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it("413 for a body over the limit, read no further", async () => {
    const huge = rehash(sample, (p) => (p.spec.nftables!.ruleset = "#".repeat(900_000)));
    const body = JSON.stringify({ ...huge, padding: "x".repeat(4 * 1024 * 1024) });
    const res = await t.request("PUT", `/v1/programs/${sample.metadata.name}`, { body });
    expect(res.status).toBe(413);
    expect(apiError.parse(res.json).error).toMatch(/exceeds the 4194304-byte limit/);
    expect(kernel.nftables.applies).toBe(1);
  });

  it("caps the problem list of a body that is wrong everywhere", async () => {
    const body = JSON.stringify(
      rehash(sample, (p) => {
        p.spec.maps = {
          fos1_app_policy: Array.from({ length: 500 }, () => ({ key: { app_id: -1 }, value: {} })),
        };
      }),
    );
    const res = await t.request("PUT", `/v1/programs/${sample.metadata.name}`, { body });
    expect(res.status).toBe(400);
    const problems = apiError.parse(res.json).problems;
    expect(problems).toHaveLength(101);
    expect(problems[100]).toEqual({ path: "", message: "and 400 more problems" });
  });

  it("422 for a program needing a subsystem the agent does not program", async () => {
    const t2 = await startTestAgent([kernel.nftables]);
    try {
      await eventually(() => t2.agent.engine.ready);
      const error = (await t2.client.putProgram(qos).catch((e: unknown) => e)) as AgentError;
      expect(error.status).toBe(422);
      expect(error.problems.map((p) => p.path)).toEqual([
        "spec.maps.fos1_app_policy",
        "spec.maps.fos1_qos_classes",
        "spec.tc",
      ]);
    } finally {
      await t2.agent.stop();
    }
  });

  it.each([
    ["GET", "/v1/nowhere", 404],
    ["POST", "/v1/programs/qos-x", 405],
    ["PATCH", "/v1/programs", 405],
    ["GET", "/v1/programs/Bad_Name", 400],
    ["GET", "/v1/programs/%E0%A4%A", 400],
    ["GET", "/v1/programs/a/b", 400],
  ])("%s %s -> %d", async (method, path, status) => {
    expect((await t.request(method, path)).status).toBe(status);
  });
});

describe("agent API: start-up", () => {
  it("answers 503 on program routes and readyz until the stored programs are re-applied", async () => {
    await t.client.putProgram(firewall);
    await t.agent.stop();
    const k2 = fakeKernel();
    k2.nftables.failures = 1;
    t = await startTestAgent(k2.all, { stateDir: t.stateDir });
    expect((await t.request("GET", "/readyz", { auth: false })).status).toBe(503);
    expect((await t.request("GET", "/healthz", { auth: false })).status).toBe(200);
    const error = (await t.client.putProgram(qos).catch((e: unknown) => e)) as AgentError;
    expect(error.status).toBe(503);
    expect(k2.nftables.kernel.size).toBe(1);

    await t.agent.engine.reconcile();
    expect((await t.request("GET", "/readyz", { auth: false })).status).toBe(200);
    expect((await t.client.getProgram(firewall.metadata.name))?.drift).toEqual([]);
  });
});
