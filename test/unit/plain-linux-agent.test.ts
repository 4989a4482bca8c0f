import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlainLinuxAgent } from "@fos1/dpi/components/plain-linux/plain-linux-agent";
import {
  AGENT_TOKEN,
  isSecret,
  readYaml,
  recordRegistrations,
  setStackConfig,
  settle,
  unwrapSecrets,
  type Registered,
} from "./components-harness";

/** The plain-Linux agent component under Pulumi mocks: what it registers, and that no secret is in clear. */
jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), "pv-plain-"));
const bpfDir = join(dir, "bpf");
const agentPackage = join(dir, "fos1-dpi-agent.tgz");
const KEY = "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n";
let registered: Registered[];

beforeAll(() => {
  mkdirSync(bpfDir);
  writeFileSync(join(bpfDir, "tc_ingress_lan.o"), "ELF lan");
  writeFileSync(join(bpfDir, "tc_ingress_uplink.o"), "ELF uplink");
  writeFileSync(agentPackage, "tgz");
  registered = recordRegistrations();
  setStackConfig({ "fos1:site": readYaml("examples/sites/branch.yaml"), "fos1:agentToken": AGENT_TOKEN }, [
    "fos1:agentToken",
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const args = {
  connection: { host: "10.10.0.2", user: "root", privateKey: "ssh-key" },
  node: "router-2",
  agentPackage,
  bpfObjectsDir: bpfDir,
  tlsCertificate: "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n",
  tlsKey: KEY,
};

describe("PlainLinuxAgent", () => {
  it("copies each artifact, then runs the rendered install with the secrets on stdin only", async () => {
    registered.splice(0);
    new PlainLinuxAgent("edge-2", args);
    await settle(registered);
    const byName = Object.fromEntries(registered.map((r) => [r.name, r]));
    expect(registered.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "command:remote:Command edge-2-install",
      "command:remote:Command edge-2-staging",
      "command:remote:CopyToRemote edge-2-copy-bpf-tc-ingress-lan-o",
      "command:remote:CopyToRemote edge-2-copy-bpf-tc-ingress-uplink-o",
      "command:remote:CopyToRemote edge-2-copy-fos1-dpi-agent-tgz",
      "fos1:dpi:PlainLinuxAgent edge-2",
    ]);
    const copy = byName["edge-2-copy-bpf-tc-ingress-lan-o"].inputs;
    expect(await (copy.source as { path: Promise<string> }).path).toBe(join(bpfDir, "tc_ingress_lan.o"));
    expect(copy).toMatchObject({
      remotePath: "/var/tmp/fos1-dpi-install/bpf/tc_ingress_lan.o",
      triggers: [expect.stringMatching(/^[0-9a-f]{64}$/)],
    });
    const install = byName["edge-2-install"].inputs;
    expect(isSecret(install.stdin)).toBe(true);
    expect(unwrapSecrets(install.stdin)).toBe(`${AGENT_TOKEN}\n${KEY}`);
    const inClear = JSON.stringify({ ...install, stdin: undefined, connection: undefined });
    expect(inClear).not.toContain(AGENT_TOKEN);
    expect(inClear).not.toContain("PRIVATE KEY");
    expect(install.create).toContain("# fos1-dpi agent install/upgrade for node router-2 of site branch");
    expect(install.create).toContain("mpls: mpls1");
    expect(install.delete).toContain("systemctl disable --now fos1-dpi-agent");
  });

  it("a changed eBPF object changes its copy's trigger and the install's environment, nothing else", async () => {
    registered.splice(0);
    new PlainLinuxAgent("edge-2", args);
    await settle(registered);
    const before = Object.fromEntries(registered.map((r) => [r.name, JSON.stringify(r.inputs)]));
    writeFileSync(join(bpfDir, "tc_ingress_lan.o"), "ELF lan v2");
    registered.splice(0);
    new PlainLinuxAgent("edge-2", args);
    await settle(registered);
    const after = Object.fromEntries(registered.map((r) => [r.name, JSON.stringify(r.inputs)]));
    expect(
      Object.keys(after)
        .filter((n) => after[n] !== before[n])
        .sort(),
    ).toEqual(["edge-2-copy-bpf-tc-ingress-lan-o", "edge-2-install"]);
  });

  it("names a node the site does not have", () => {
    expect(() => new PlainLinuxAgent("edge-9", { ...args, node: "router-9" })).toThrow(
      'fos1:dpi:PlainLinuxAgent "edge-9": invalid arguments\nnode: the site has no node "router-9" (nodes: router-1, router-2)',
    );
  });
});
