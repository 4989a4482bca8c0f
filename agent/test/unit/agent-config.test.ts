import { parseAgentConfig } from "@fos1/dpi/agent/src/config";
import { ValidationError } from "@fos1/dpi/sdk/schema";

const minimal = `
node: router-1
tls: { certFile: /etc/fos1-dpi/tls/tls.crt, keyFile: /etc/fos1-dpi/tls/tls.key }
tokenFile: /etc/fos1-dpi/token/token
interfaces:
  uplinks: { isp1: wan1, isp2: wan2 }
  lan: [lan0]
`;

describe("agent config", () => {
  it("applies the defaults an operator expects", () => {
    expect(parseAgentConfig(minimal, "agent.yaml")).toEqual({
      node: "router-1",
      listen: { address: "0.0.0.0", port: 9443 },
      tls: { certFile: "/etc/fos1-dpi/tls/tls.crt", keyFile: "/etc/fos1-dpi/tls/tls.key" },
      tokenFile: "/etc/fos1-dpi/token/token",
      stateDir: "/var/lib/fos1-dpi",
      reconcileInterval: 5000,
      maxBodyBytes: 64 * 1024 * 1024,
      bpf: { pinRoot: "/sys/fs/bpf/fos1", objectsDir: "/usr/lib/fos1-dpi/bpf" },
      interfaces: { uplinks: { isp1: "wan1", isp2: "wan2" }, lan: ["lan0"] },
      logLevel: "info",
    });
  });

  it("reads JSON too, with durations as operators write them", () => {
    const json = JSON.stringify({
      node: "r1",
      listen: { address: "10.10.0.1", port: 9443 },
      tls: { certFile: "c", keyFile: "k" },
      tokenFile: "t",
      reconcileInterval: "250ms",
      interfaces: { uplinks: { isp1: "wan1" }, lan: ["lan0"], mirror: "fos1-mirror" },
    });
    const config = parseAgentConfig(json, "agent.json");
    expect(config.reconcileInterval).toBe(250);
    expect(config.interfaces.mirror).toBe("fos1-mirror");
  });

  it("reports every problem with the file and its path", () => {
    const bad = `
node: Router_1
listen: { port: 70000 }
tls: { certFile: "" }
tokenFile: /t
reconcileInterval: soon
interfaces: { uplinks: {}, lan: ["way too long interface name"] }
extra: 1
`;
    let error: unknown;
    try {
      parseAgentConfig(bad, "agent.yaml");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).problems.map((p) => `${p.file}: ${p.path}`);
    expect(problems.sort()).toEqual(
      [
        "agent.yaml: ",
        "agent.yaml: interfaces.lan[0]",
        "agent.yaml: interfaces.uplinks",
        "agent.yaml: listen.port",
        "agent.yaml: node",
        "agent.yaml: reconcileInterval",
        "agent.yaml: tls.certFile",
        "agent.yaml: tls.keyFile",
      ].sort(),
    );
    expect((error as ValidationError).message).toMatch(/agent\.yaml: \(document\): unknown field "extra"/);
  });

  it("reports YAML syntax errors with the file", () => {
    expect(() => parseAgentConfig("node: [", "agent.yaml")).toThrow(
      /agent config: 1 problem\(s\)\nagent\.yaml:/,
    );
  });
});
