import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseAgentConfig } from "@fos1/dpi/agent/src/config";
import { renderInstallScript } from "@fos1/dpi/components/plain-linux/install-script";
import { validateKind } from "@fos1/dpi/sdk/schema";
import type { Site } from "@fos1/dpi/sdk/schema";
import { readYaml } from "./components-harness";

/**
 * The rendered install script run for real with `sh` into a scratch root
 * (DESTDIR), from a staging directory laid out as the component's copies
 * leave it: what it writes, with which modes, and that a second run
 * changes nothing.
 */
const site = (() => {
  const result = validateKind("Site", readYaml("examples/sites/branch.yaml"));
  if (!result.ok) throw new Error("examples/sites/branch.yaml is not a valid site");
  return result.value as Site;
})();
const TOKEN = "pv-plain-linux-token-0123456789";
const KEY =
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPvExampleExampleExampleExampleExample\n-----END PRIVATE KEY-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nMIIBExampleCertificate\n-----END CERTIFICATE-----\n";

let dir: string;
let staging: string;
let root: string;
let script: string;

function agentPackage(version: string): void {
  const tree = join(dir, `package-${version}`);
  mkdirSync(join(tree, "dist", "agent", "src"), { recursive: true });
  writeFileSync(join(tree, "package.json"), JSON.stringify({ name: "@fos1/dpi-agent", version }));
  writeFileSync(join(tree, "dist", "agent", "src", "bin.js"), `console.log("agent ${version}");\n`);
  const tar = spawnSync("tar", ["-czf", join(staging, "fos1-dpi-agent.tgz"), "-C", tree, "."]);
  expect(tar.status).toBe(0);
}

function install(stdin = `${TOKEN}\n${KEY}`) {
  const result = spawnSync("sh", [script], {
    env: { ...process.env, DESTDIR: root },
    input: stdin,
    encoding: "utf8",
  });
  return { status: result.status, lines: result.stdout.trim().split("\n"), stderr: result.stderr };
}

/** Every file under the scratch root: mode, content hash and mtime, so an untouched tree compares equal. */
function tree(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      const stat = statSync(path);
      if (entry.isDirectory()) walk(path);
      else
        out[`/${relative(root, path)}`] =
          `${(stat.mode & 0o777).toString(8)} ${createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12)} ${stat.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

const mode = (path: string) => (statSync(join(root, path)).mode & 0o777).toString(8);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pv-install-"));
  staging = join(dir, "staging");
  root = join(dir, "root");
  mkdirSync(join(staging, "bpf"), { recursive: true });
  mkdirSync(root);
  for (const object of ["tc_ingress_lan.o", "tc_egress_classify.o"])
    writeFileSync(join(staging, "bpf", object), `ELF ${object}`);
  agentPackage("0.1.0");
  script = join(dir, "install.sh");
  writeFileSync(
    script,
    renderInstallScript({
      site,
      node: "router-2",
      port: 9443,
      certificate: CERT,
      stagingDir: staging,
      bpfObjects: ["tc_ingress_lan.o", "tc_egress_classify.o"],
    }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the plain-Linux install script, run into a scratch root", () => {
  it("writes the config, unit, credentials, wrapper, bpf objects and agent with their modes", () => {
    const run = install();
    expect(run.status).toBe(0);
    expect(run.lines).toEqual([
      "changed /etc/fos1-dpi/agent.yaml",
      "changed /etc/fos1-dpi/tls.crt",
      "changed /etc/fos1-dpi/tls.key",
      "changed /etc/fos1-dpi/token",
      "changed /etc/systemd/system/fos1-dpi-agent.service",
      "changed /usr/bin/fos1-dpi-agent",
      "changed /usr/lib/fos1-dpi/bpf/tc_ingress_lan.o",
      "changed /usr/lib/fos1-dpi/bpf/tc_egress_classify.o",
      "changed /usr/lib/fos1-dpi/agent",
      "restart fos1-dpi-agent (skipped: DESTDIR)",
    ]);
    expect(readFileSync(join(root, "etc/fos1-dpi/token"), "utf8")).toBe(`${TOKEN}\n`);
    expect(readFileSync(join(root, "etc/fos1-dpi/tls.key"), "utf8")).toBe(KEY);
    expect(readFileSync(join(root, "etc/fos1-dpi/tls.crt"), "utf8")).toBe(CERT);
    expect(
      [
        "etc/fos1-dpi/token",
        "etc/fos1-dpi/tls.key",
        "etc/fos1-dpi/tls.crt",
        "etc/fos1-dpi/agent.yaml",
        "etc/systemd/system/fos1-dpi-agent.service",
        "usr/bin/fos1-dpi-agent",
        "usr/lib/fos1-dpi/bpf/tc_ingress_lan.o",
        "var/lib/fos1-dpi",
      ].map(mode),
    ).toEqual(["600", "600", "644", "644", "644", "755", "644", "700"]);

    // The agent's own config parser accepts the file: router-2's MPLS interface is its override.
    const config = parseAgentConfig(
      readFileSync(join(root, "etc/fos1-dpi/agent.yaml"), "utf8"),
      "agent.yaml",
    );
    expect(config).toMatchObject({
      node: "router-2",
      listen: { port: 9443 },
      tokenFile: "/etc/fos1-dpi/token",
      bpf: { enabled: true, objectsDir: "/usr/lib/fos1-dpi/bpf" },
      interfaces: { uplinks: { isp1: "wan1", isp2: "wan2", mpls: "mpls1" }, lan: ["lan0"] },
    });
    expect(readFileSync(join(root, "etc/systemd/system/fos1-dpi-agent.service"), "utf8")).toContain(
      "ExecStart=/usr/bin/fos1-dpi-agent --config /etc/fos1-dpi/agent.yaml",
    );
    expect(readFileSync(join(root, "usr/lib/fos1-dpi/agent/dist/agent/src/bin.js"), "utf8")).toContain(
      "agent 0.1.0",
    );
    const wrapper = spawnSync(join(root, "usr/bin/fos1-dpi-agent"), { encoding: "utf8" });
    expect(wrapper.stderr).toContain("/usr/lib/fos1-dpi/agent/dist/agent/src/bin.js");
  });

  it("a second run changes nothing", () => {
    expect(install().status).toBe(0);
    const before = tree();
    const again = install();
    expect(again).toMatchObject({ status: 0, lines: ["unchanged"] });
    expect(tree()).toEqual(before);
  });

  it("an upgrade replaces exactly what changed: one bpf object, then the agent package", () => {
    expect(install().status).toBe(0);
    writeFileSync(join(staging, "bpf", "tc_ingress_lan.o"), "ELF tc_ingress_lan.o v2");
    expect(install().lines).toEqual([
      "changed /usr/lib/fos1-dpi/bpf/tc_ingress_lan.o",
      "restart fos1-dpi-agent (skipped: DESTDIR)",
    ]);
    agentPackage("0.2.0");
    expect(install().lines).toEqual([
      "changed /usr/lib/fos1-dpi/agent",
      "restart fos1-dpi-agent (skipped: DESTDIR)",
    ]);
    expect(readFileSync(join(root, "usr/lib/fos1-dpi/agent/dist/agent/src/bin.js"), "utf8")).toContain(
      "agent 0.2.0",
    );
    expect(readdirSync(join(root, "usr/lib/fos1-dpi"))).toEqual(["agent", "bpf"]);
  });

  it("refuses to run without the secrets on stdin, and installs nothing", () => {
    const run = install("");
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("stdin must hold the token's line, then the TLS key");
    expect(readdirSync(root)).toEqual([]);
  });

  it("holds no secret in its text", () => {
    const text = readFileSync(script, "utf8");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain("PRIVATE KEY");
  });
});
