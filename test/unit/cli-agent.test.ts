import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { agent, type AgentPackage } from "@fos1/dpi/cli/commands/agent";
import type { Io } from "@fos1/dpi/cli/io";
import { run } from "@fos1/dpi/cli/run";
import { fakeKernel } from "@fos1/dpi/agent/test/unit/fixtures/fake-reconciler";
import { startTestAgent, type TestAgent } from "@fos1/dpi/agent/test/unit/fixtures/test-agent";

const root = join(__dirname, "..", "..");
const example = (f: string) => join(root, "examples", f);
const siteFile = example("sites/two-uplinks.yaml");
const policies = example("policies/fast-path.yaml");

/** Runs the CLI in-process, with files from disk or from `files`. */
async function cli(argv: string[], files: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    readFile: (p) => (p in files ? files[p] : readFileSync(p, "utf8")),
    writeFile: (p, t) => (files[p] = t),
  };
  const status = await run(argv, io);
  return { status, stdout, stderr };
}

let kernel: ReturnType<typeof fakeKernel>;
let t: TestAgent;
let files: Record<string, string>;
let target: string[];

beforeEach(async () => {
  kernel = fakeKernel();
  t = await startTestAgent(kernel.all, {
    interfaces: { uplinks: { isp1: "wan1", isp2: "wan2" }, lan: ["lan0"], mirror: "fos1-mirror" },
  });
  await t.agent.engine.reconcile();
  files = { "token.txt": `${t.token}\n`, "ca.pem": t.ca };
  target = ["--agent", t.agent.url, "--node", "router-1", "--token-file", "token.txt", "--ca", "ca.pem"];
});
afterEach(() => t.agent.stop());

describe("fos1-dpi apply", () => {
  it("PUTs every program the policies compile to for the node; a second apply writes nothing", async () => {
    const first = await cli(["apply", "--site", siteFile, ...target, policies], files);
    expect(first.stderr).toBe(
      ["fastpath-branch-fast-path", "firewall-branch-firewall", "sensor-branch-sensors"]
        .map((n) => `PUT ${n} -> router-1 (${t.agent.url})\n`)
        .join(""),
    );
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(
      /^firewall-branch-firewall: applied [0-9a-f]{12} \(maps=1 nftables=1 tc=0 ip=0\) in \d+ ms$/m,
    );
    expect(kernel.nftables.kernel.size).toBe(1);
    expect((await t.client.listPrograms()).programs).toHaveLength(3);

    const second = await cli(["apply", "--json", "--site", siteFile, ...target, policies], files);
    expect(second.status).toBe(0);
    const out = JSON.parse(second.stdout);
    expect(out.ok).toBe(true);
    expect(out.node).toBe("router-1");
    expect(out.results.map((r: { result: { writes: unknown } }) => r.result.writes)).toEqual(
      Array(3).fill({ maps: 0, nftables: 0, tc: 0, ip: 0 }),
    );
  });

  it("finds the node by its agent URL in the site, and reads the token from FOS1_AGENT_TOKEN", async () => {
    const site = readFileSync(siteFile, "utf8").replace("https://10.10.0.1:9443", t.agent.url);
    process.env.FOS1_AGENT_TOKEN = t.token;
    try {
      const r = await cli(
        ["apply", "--site", "site.yaml", "--agent", t.agent.url, "--ca", "ca.pem", policies],
        {
          ...files,
          "site.yaml": site,
        },
      );
      expect(r.stderr).toContain("-> router-1");
      expect(r.status).toBe(0);
    } finally {
      delete process.env.FOS1_AGENT_TOKEN;
    }
  });

  it("prints the agent's refusal as program: path: reason and exits 1", async () => {
    const narrow = await startTestAgent(kernel.all, {
      interfaces: { uplinks: { isp1: "wan1", isp2: "wan2" }, lan: ["lan0"] },
    });
    try {
      await narrow.agent.engine.reconcile();
      const args = ["--agent", narrow.agent.url, "--node", "router-1", "--ca", "ca.pem"];
      const r = await cli(["apply", "--site", siteFile, ...args, "--token-file", "narrow", policies], {
        ...files,
        "ca.pem": narrow.ca,
        narrow: narrow.token,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        'sensor-branch-sensors: spec.config.mirror_interface: "fos1-mirror" is not an interface of this node',
      );
      expect(r.stdout).toContain("firewall-branch-firewall: applied");
    } finally {
      await narrow.agent.stop();
    }
  });

  it("exits 1 on a wrong token, and 2 without any token or agent", async () => {
    const wrong = await cli(["apply", "--site", siteFile, ...target, policies], {
      ...files,
      "token.txt": "nope-nope-nope-nope",
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/401 missing or wrong bearer token/);
    expect(kernel.nftables.kernel.size).toBe(0);

    const none = await cli(["apply", "--site", siteFile, "--agent", t.agent.url, policies]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("no agent token: give --token-file FILE or set FOS1_AGENT_TOKEN");
    expect((await cli(["apply", "--site", siteFile, policies])).stderr).toContain("--agent is required");
    expect(
      (await cli(["apply", "--agent", "http://x", "--token-file", "token.txt", policies], files)).stderr,
    ).toContain("--agent must be an https URL");
    expect((await cli(["apply", "--name", "x", ...target, policies], files)).status).toBe(2);
  });

  it("reports an agent URL that no node of the site has", async () => {
    const r = await cli(
      [
        "apply",
        "--site",
        siteFile,
        "--agent",
        t.agent.url,
        "--token-file",
        "token.txt",
        "--ca",
        "ca.pem",
        policies,
      ],
      files,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`spec.nodes: no node has agent.url ${t.agent.url}; give --node`);
  });
});

describe("fos1-dpi get and delete", () => {
  it("get compares compiled programs with the agent and the kernel; delete removes them", async () => {
    const missing = await cli(["get", "--site", siteFile, ...target, policies], files);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain("firewall-branch-firewall: not applied on the agent");

    await cli(["apply", "--site", siteFile, ...target, policies], files);
    const synced = await cli(["get", "--site", siteFile, ...target, policies], files);
    expect(synced.status).toBe(0);
    expect(synced.stdout.match(/: in sync \(applied /g)).toHaveLength(3);

    kernel.nftables.kernel.clear();
    const drifted = await cli(["get", "--json", "--site", siteFile, ...target, policies], files);
    expect(drifted.status).toBe(1);
    const out = JSON.parse(drifted.stdout);
    expect(out.results.map((r: { name: string; verdict: string }) => [r.name, r.verdict])).toEqual([
      ["fastpath-branch-fast-path", "in-sync"],
      ["firewall-branch-firewall", "drifted"],
      ["sensor-branch-sensors", "in-sync"],
    ]);

    const list = await cli(["get", ...target], files);
    expect(list.status).toBe(0);
    expect(
      list.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0]),
    ).toEqual(["fastpath-branch-fast-path", "firewall-branch-firewall", "sensor-branch-sensors"]);

    const deleted = await cli(["delete", "--site", siteFile, ...target, policies], files);
    expect(deleted.status).toBe(0);
    // The first delete also restored the flushed table (every apply makes the kernel whole); the second removes it.
    expect(deleted.stdout).toMatch(/^fastpath-branch-fast-path: deleted \(maps=12 nftables=1 tc=0 ip=0\)$/m);
    expect(deleted.stdout).toMatch(/^firewall-branch-firewall: deleted \(maps=1 nftables=1 tc=0 ip=0\)$/m);
    expect(kernel.snapshot()).toEqual({ maps: {}, nftables: {}, tc: {}, ip: {} });
    const again = await cli(["delete", ...target, "--name", "firewall-branch-firewall"], files);
    expect(again.stdout).toBe("firewall-branch-firewall: not on the agent\n");
    expect((await cli(["delete", ...target, "--name", "x", policies], files)).status).toBe(2);
  });
});

describe("fos1-dpi agent", () => {
  const fakePackage = (runAgent: AgentPackage["runAgent"]): AgentPackage => ({
    runAgent,
    DEFAULT_CONFIG_FILE: "/etc/fos1-dpi/agent.yaml",
  });
  const io = () => {
    const lines: string[] = [];
    return {
      lines,
      io: {
        out: () => undefined,
        err: (t: string) => void lines.push(t),
        readFile: () => "",
        writeFile: () => undefined,
      } satisfies Io,
    };
  };

  it("hands the config file (or the default one) to the agent package", async () => {
    const seen: string[] = [];
    const pkg = fakePackage(async ({ configFile }) => (seen.push(configFile), 0));
    expect(await agent(io().io, { config: "/tmp/a.yaml" }, () => pkg)).toBe(0);
    expect(await agent(io().io, {}, () => pkg)).toBe(0);
    expect(seen).toEqual(["/tmp/a.yaml", "/etc/fos1-dpi/agent.yaml"]);
  });

  it("prints config problems as file: path: reason and exits 1", async () => {
    const out = io();
    const status = await agent(out.io, {}, () =>
      fakePackage(async () => {
        throw Object.assign(new Error("agent config"), {
          problems: [{ file: "agent.yaml", path: "interfaces.lan", message: "required" }],
        });
      }),
    );
    expect(status).toBe(1);
    expect(out.lines).toEqual(["agent.yaml: interfaces.lan: required\n"]);
  });

  it("says how to install the agent when its package cannot be loaded", async () => {
    const out = io();
    const status = await agent(out.io, {}, () => {
      throw new Error("the node agent is not installed: npm install @fos1/dpi-agent (and build it)");
    });
    expect(status).toBe(1);
    expect(out.lines.join("")).toContain("npm install @fos1/dpi-agent");
  });

  it("loading the CLI loads no agent code", () => {
    const script =
      "require('./cli/run'); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('/agent/'))))";
    const loaded = JSON.parse(execFileSync("npx", ["tsx", "-e", script], { cwd: root, encoding: "utf8" }));
    expect(loaded).toEqual([]);
  });
});
