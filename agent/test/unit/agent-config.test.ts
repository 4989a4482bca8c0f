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
      ingest: { sources: [], alerts: "stdout", kubernetesEvents: "auto", flowWaitMs: 2000 },
      logLevel: "info",
    });
  });

  it("reads ingest sources and the site's etcd, with defaults per source type", () => {
    const config = parseAgentConfig(
      `${minimal}
ingest:
  sources:
    - { type: eve-socket, path: /run/fos1/events/suricata.eve.sock }
    - { type: ndpi-sensor, interface: fos1-mirror }
    - { type: nprobe-tcp, port: 9556 }
    - { type: zeek-dir, name: zeek-a, dir: /run/fos1/events/zeek }
cluster: { endpoints: ["http://10.0.0.5:2379"], site: branch-1 }
`,
      "agent.yaml",
    );
    expect(config.ingest.sources).toEqual([
      { type: "eve-socket", path: "/run/fos1/events/suricata.eve.sock" },
      {
        type: "ndpi-sensor",
        interface: "fos1-mirror",
        binary: "/usr/bin/fos1-ndpi-sensor",
        args: [],
        launcher: [],
      },
      { type: "nprobe-tcp", host: "127.0.0.1", port: 9556 },
      { type: "zeek-dir", name: "zeek-a", dir: "/run/fos1/events/zeek" },
    ]);
    expect(config.cluster).toMatchObject({ endpoints: ["http://10.0.0.5:2379"], site: "branch-1" });
  });

  it("refuses ingest sources it cannot run, with their paths", () => {
    let error: unknown;
    try {
      parseAgentConfig(
        `${minimal}
ingest:
  sources:
    - { type: eve-socket, path: /a.sock }
    - { type: eve-socket, path: /b.sock }
    - { type: pcap, path: /x }
    - { type: nprobe-tcp, port: 0 }
cluster: { endpoints: [], site: Branch }
`,
        "agent.yaml",
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).problems.map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ingest\.sources\[2\]\.type: /),
        expect.stringMatching(/^ingest\.sources\[3\]\.port: /),
        expect.stringMatching(/^cluster\.endpoints: at least one etcd endpoint is required/),
        expect.stringMatching(/^cluster\.site: /),
      ]),
    );
  });

  it("names the duplicate when two sources would share offsets and metrics", () => {
    expect(() =>
      parseAgentConfig(
        `${minimal}
ingest:
  sources:
    - { type: eve-socket, path: /a.sock }
    - { type: eve-socket, path: /b.sock }
`,
        "agent.yaml",
      ),
    ).toThrow(/ingest\.sources\[1\]\.name: "eve-socket" is already the name of sources\[0\]/);
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
