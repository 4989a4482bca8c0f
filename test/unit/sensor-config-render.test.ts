/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk the Kubernetes input types, whose fields are Inputs */
// The sensor configuration the DpiSensor renders, checked against what the
// agent depends on: where Suricata's EVE goes and which records it carries,
// where Zeek writes which logs, where nProbe exports which fields, and that
// sensor and agent pods see those paths at the same place on the host.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { parseAgentConfig } from "@fos1/dpi/agent/src/config";
import { agentDaemonSet } from "@fos1/dpi/components/kubernetes/agent";
import { renderAgentConfigs } from "@fos1/dpi/components/kubernetes/agent-config";
import {
  EVENTS_DIR,
  NDPI_EVENTS_FILE,
  NPROBE_EXPORT_HOST,
  NPROBE_EXPORT_PORT,
  NPROBE_TEMPLATE,
  renderSensorConfig,
  SENSOR_CONFIG_DIR,
  SURICATA_EVE_SOCKET,
  SURICATA_EVE_TYPES,
  SURICATA_RULES_DIR,
  ZEEK_LOG_DIR,
  ZEEK_LOGS,
} from "@fos1/dpi/components/kubernetes/sensor-config";
import {
  NPROBE_LICENSE_DIR,
  nprobeLicenseSecretName,
  SENSOR_CAPABILITIES,
  sensorDaemonSet,
  SURICATA_RULES_UID,
} from "@fos1/dpi/components/kubernetes/sensors";
import { parseNprobeJson, parseSuricataEve, parseZeekLog } from "@fos1/dpi/sdk/events";
import { dpiSensorSpec, ENGINES, type DpiSensorSpec, type Engine } from "@fos1/dpi/sdk/schema/dpi-sensor";
import { validateKind } from "@fos1/dpi/sdk/schema";
import { REPO } from "./components-harness";

const TESTDATA = join(REPO, "..", "shared", "testdata");

const spec: DpiSensorSpec = dpiSensorSpec.parse({
  engines: [...ENGINES],
  prefixes: ["10.10.0.0/16", "fd10::/48"],
  ruleSources: [
    {
      name: "et-open",
      url: "https://rules.example.org/open/suricata 7.0/emerging.rules.tar.gz",
      sha256: "3f4c1b3d5e2a9f8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b",
    },
    {
      name: "internal",
      url: "https://mirror.example.org/rules/internal.tar.gz",
      sha256: "0".repeat(64),
    },
  ],
  expectedThroughput: "1Gbit",
  mirrorInterface: "mirror7",
});

/** Real lines of the test-data corpus, one JSON object each. */
function jsonLines(file: string): { line: string; record: Record<string, unknown> }[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .flatMap((line) => {
      try {
        const record = JSON.parse(line) as unknown;
        return record && typeof record === "object"
          ? [{ line, record: record as Record<string, unknown> }]
          : [];
      } catch {
        return [];
      }
    });
}

function allKeys(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => allKeys(v, into));
  else if (value && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      into.push(key);
      allKeys(v, into);
    }
  }
  return into;
}

describe("suricata.yaml", () => {
  const files = renderSensorConfig("suricata", spec);
  const text = files["suricata.yaml"];
  const config = parse(text, { version: "1.1" }) as Record<string, any>;
  const eve = config.outputs.find((o: Record<string, unknown>) => "eve-log" in o)["eve-log"];

  it("is a YAML 1.1 document with the header Suricata requires", () => {
    expect(text.startsWith("%YAML 1.1\n---\n")).toBe(true);
    expect(parseAllDocuments(text, { version: "1.1" }).flatMap((d) => d.errors)).toEqual([]);
  });

  it("sends EVE to the agent's unix socket as a client, within the length a socket path may have", () => {
    expect(eve.enabled).toBe(true);
    expect(eve.filetype).toBe("unix_stream");
    expect(eve.filename).toBe(SURICATA_EVE_SOCKET);
    // sun_path holds 108 bytes including the terminating NUL.
    expect(Buffer.byteLength(eve.filename)).toBeLessThan(108);
  });

  it("carries exactly the record types the agent parses, each of which it parses from real EVE output", () => {
    const types = (eve.types as (string | Record<string, unknown>)[]).map((t) =>
      typeof t === "string" ? t : Object.keys(t)[0],
    );
    expect(types.sort()).toEqual([...SURICATA_EVE_TYPES].sort());
    const corpus = readdirSync(join(TESTDATA, "suricata")).flatMap((f) =>
      jsonLines(join(TESTDATA, "suricata", f)),
    );
    for (const type of types) {
      const sample = corpus.find((l) => l.record.event_type === type);
      expect({ type, found: sample !== undefined }).toEqual({ type, found: true });
      const parsed = parseSuricataEve(sample!.line);
      expect({ type, ok: parsed.ok }).toEqual({ type, ok: true });
    }
  });

  it("captures on the mirror interface with every XDP/eBPF bypass off, and says why", () => {
    expect(config["af-packet"]).toHaveLength(1);
    expect(config["af-packet"][0]).toMatchObject({ interface: "mirror7", bypass: false });
    expect(config.stream.bypass).toBe(false);
    expect(allKeys(config).filter((k) => /xdp|ebpf/i.test(k))).toEqual([]);
    expect(text).toMatch(/# No XDP\/eBPF bypass: the fast path is fos1's own eBPF program/);
  });

  it("reads the rules suricata-update writes, and defines every variable the ET Open rules use", () => {
    expect(config["default-rule-path"]).toBe(SURICATA_RULES_DIR);
    expect(config["rule-files"]).toEqual(["suricata.rules"]);
    const groups = { ...config.vars["address-groups"], ...config.vars["port-groups"] };
    const rules = readFileSync(join(TESTDATA, "rules", "et-open-2017-sample.rules"), "utf8");
    const used = new Set([...rules.matchAll(/\$([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((v) => !(v in groups))).toEqual([]);
    expect(groups.HOME_NET).toBe("[10.10.0.0/16,fd10::/48]");
  });

  it("lists every pinned rule archive as name, sha256 and an URL without whitespace", () => {
    const lines = files["rule-sources.list"]
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => l.split(" "));
    expect(lines).toEqual([
      [
        "et-open",
        spec.ruleSources[0].sha256,
        "https://rules.example.org/open/suricata%207.0/emerging.rules.tar.gz",
      ],
      ["internal", "0".repeat(64), "https://mirror.example.org/rules/internal.tar.gz"],
    ]);
  });
});

describe("local.zeek", () => {
  const text = renderSensorConfig("zeek", spec)["local.zeek"];

  it("writes JSON logs into the directory the agent follows", () => {
    expect(text).toContain("redef LogAscii::use_json = T;\n");
    expect(text).toContain(`redef Log::default_logdir = "${ZEEK_LOG_DIR}";\n`);
    expect(ZEEK_LOG_DIR.startsWith(`${EVENTS_DIR}/`)).toBe(true);
  });

  it("keeps exactly the agent's logs, each of which the agent maps from real Zeek output", () => {
    const kept = /const fos1_logs: set\[Log::ID\] = \{ (.*) \};/.exec(text)?.[1].split(", ");
    expect(kept).toEqual(["Conn::LOG", "DNS::LOG", "SSL::LOG", "HTTP::LOG", "Notice::LOG", "Weird::LOG"]);
    const kinds: Record<string, string> = {
      conn: "flow",
      dns: "dns",
      ssl: "tls",
      http: "http",
      notice: "notice",
      weird: "anomaly",
    };
    expect([...ZEEK_LOGS].sort()).toEqual(Object.keys(kinds).sort());
    const files = readdirSync(join(TESTDATA, "zeek"));
    for (const log of ZEEK_LOGS) {
      const file = files.find((f) => f.endsWith(`-${log}.json`));
      expect({ log, file: file !== undefined }).toEqual({ log, file: true });
      const [sample] = jsonLines(join(TESTDATA, "zeek", file!));
      const parsed = parseZeekLog(sample.line, log);
      expect({ log, kind: parsed.ok ? parsed.event.kind : parsed }).toEqual({ log, kind: kinds[log] });
    }
  });

  it("is balanced Zeek script with the site's networks as Zeek subnets", () => {
    const code = text.replace(/#.*$/gm, "");
    expect(code.split("{").length).toBe(code.split("}").length);
    expect(code).toContain("redef Site::local_nets += { 10.10.0.0/16, [fd10::]/48 };");
    expect(code).toMatch(/event zeek_init\(\) &priority=-10\n\t\{\n/);
    for (const line of code.split("\n").filter((l) => l.startsWith("redef") || l.startsWith("const"))) {
      expect(line.endsWith(";")).toBe(true);
    }
  });
});

describe("nprobe.conf", () => {
  const options = renderSensorConfig("nprobe", spec)["nprobe.conf"].split("\n").filter(Boolean);

  it("captures on the mirror interface and exports JSON only, to the agent's port", () => {
    expect(options).toContain("-i=mirror7");
    expect(options).toContain("-n=none");
    expect(options).toContain("--json-labels");
    expect(options).toContain(`--tcp=${NPROBE_EXPORT_HOST}:${NPROBE_EXPORT_PORT}`);
    expect(options.every((o) => /^-{1,2}[a-z-]+=?/i.test(o))).toBe(true);
  });

  it("exports fields the agent maps, every one of them (none lands in extra)", () => {
    const template = options
      .find((o) => o.startsWith("-T="))!
      .slice(3)
      .split(" ");
    expect(template).toEqual(NPROBE_TEMPLATE.map((f) => `%${f}`));
    const values: Record<string, unknown> = {
      IPV4_SRC_ADDR: "10.10.1.5",
      IPV4_DST_ADDR: "142.250.1.1",
      IPV6_SRC_ADDR: "::",
      IPV6_DST_ADDR: "::",
      L4_SRC_PORT: 51000,
      L4_DST_PORT: 443,
      PROTOCOL: 6,
      IN_BYTES: 100,
      OUT_BYTES: 200,
      IN_PKTS: 2,
      OUT_PKTS: 3,
      FIRST_SWITCHED: 1_700_000_000,
      LAST_SWITCHED: 1_700_000_010,
      L7_PROTO: "91.124",
      L7_PROTO_NAME: "TLS.YouTube",
      L7_PROTO_CATEGORY: "Media",
      L7_CONFIDENCE: "DPI",
      L7_PROTO_RISK: 0,
      L7_RISK_SCORE: 0,
      FLOW_SERVER_NAME: "www.youtube.com",
    };
    expect(Object.keys(values).sort()).toEqual([...NPROBE_TEMPLATE].sort());
    const parsed = parseNprobeJson(JSON.stringify(values));
    if (!parsed.ok) throw new Error(`${parsed.reason}: ${parsed.detail}`);
    expect(Object.keys(parsed.event.extra).filter((k) => k in values)).toEqual([]);
  });
});

/** The branch example's Site, validated. */
function branchSite() {
  const site = validateKind(
    "Site",
    Object.fromEntries(
      parseAllDocuments(readFileSync(join(REPO, "examples/sites/branch.yaml"), "utf8"))
        .map((d) => d.toJS())
        .map((d) => [d.kind, d]),
    ).Site,
  );
  if (!site.ok) throw new Error(JSON.stringify(site.problems));
  return site.value;
}

describe("sensor and agent pods", () => {
  const site = branchSite();
  const placement = { namespace: "fos1-dpi", instance: "s" };
  // The builders return plain objects; their declared types admit Outputs and Promises.
  const podOf = (daemonSet: unknown): any => (daemonSet as any).spec.template.spec;
  const agentPod = podOf(
    agentDaemonSet({
      ...placement,
      image: "agent",
      port: 9443,
      nodes: ["router-1"],
      tlsSecretName: "tls",
      site,
      mirrorInterface: spec.mirrorInterface,
      engines: spec.engines,
    }),
  );
  const sensorPod = (engine: Engine) =>
    podOf(
      sensorDaemonSet({
        ...placement,
        engine,
        spec,
        image: engine,
        nodes: ["router-1"],
        serviceAccountName: "s-sensor",
      }),
    );

  /** The host path a container path of the pod's first container lives at, through its hostPath volumes. */
  function onHost(pod: any, path: string): string | undefined {
    const mount = (pod.containers[0].volumeMounts as { name: string; mountPath: string }[])
      .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const volume = mount && pod.volumes.find((v: { name: string }) => v.name === mount.name);
    return volume?.hostPath ? volume.hostPath.path + path.slice(mount.mountPath.length) : undefined;
  }

  it("see the EVE socket, the Zeek logs and the nDPI lines at the same host path", () => {
    for (const [engine, path] of [
      ["suricata", SURICATA_EVE_SOCKET],
      ["zeek", ZEEK_LOG_DIR],
      ["ndpi", NDPI_EVENTS_FILE],
    ] as const) {
      const where = onHost(sensorPod(engine), path);
      expect({ engine, where }).toEqual({ engine, where: path });
      expect(onHost(agentPod, path)).toBe(path);
    }
  });

  it("share the node's loopback, where nProbe reaches the agent", () => {
    expect(sensorPod("nprobe").hostNetwork).toBe(true);
    expect(agentPod.hostNetwork).toBe(true);
    expect(NPROBE_EXPORT_HOST).toBe("127.0.0.1");
  });

  it("start the images' entrypoints with the mirror interface and the config where the images look", () => {
    for (const engine of ["suricata", "zeek", "nprobe"] as const) {
      const [container] = sensorPod(engine).containers as any[];
      expect(container.command).toBeUndefined();
      expect(container.env).toEqual([{ name: "FOS1_MIRROR_INTERFACE", value: "mirror7" }]);
      expect(container.volumeMounts).toContainEqual({
        name: "config",
        mountPath: SENSOR_CONFIG_DIR,
        readOnly: true,
      });
      expect(container.securityContext.capabilities).toEqual({
        add: [...SENSOR_CAPABILITIES],
        drop: ["ALL"],
      });
    }
    expect((sensorPod("suricata").containers as any[])[0].args).toEqual(["run"]);
  });

  it("fetch Suricata's rules unprivileged, into the volume Suricata reads them from", () => {
    const pod = sensorPod("suricata") as any;
    const [init] = pod.initContainers;
    expect(init.args).toEqual(["fetch-rules"]);
    expect(init.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: SURICATA_RULES_UID,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(init.securityContext.capabilities.add).toBeUndefined();
    const rulesMount = (c: any) => c.volumeMounts.find((m: any) => m.mountPath === SURICATA_RULES_DIR);
    expect(rulesMount(init)).toEqual({ name: "rules", mountPath: SURICATA_RULES_DIR });
    expect(rulesMount(pod.containers[0])).toEqual({
      name: "rules",
      mountPath: SURICATA_RULES_DIR,
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({ name: "rules", emptyDir: {} });
  });

  it("mount nProbe's licence from the operator's Secret, optional so the entrypoint explains its absence", () => {
    const pod = sensorPod("nprobe") as any;
    expect(pod.volumes).toContainEqual({
      name: "license",
      secret: { secretName: nprobeLicenseSecretName("s"), optional: true },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: "license",
      mountPath: NPROBE_LICENSE_DIR,
      readOnly: true,
    });
    expect(nprobeLicenseSecretName("s")).toBe("s-nprobe-license");
  });
});

describe("the agent config the components render", () => {
  it("is accepted by the agent and ingests exactly what each deployed sensor writes, where it writes it", () => {
    const site = branchSite();
    const files = renderAgentConfigs(site, 9443, "fos1-mirror", ["zeek", "suricata", "nprobe", "ndpi"]);
    for (const [file, text] of Object.entries(files)) {
      const config = parseAgentConfig(text, file);
      expect(config.ingest.sources).toEqual([
        { type: "ndpi-file", path: NDPI_EVENTS_FILE },
        { type: "nprobe-tcp", host: NPROBE_EXPORT_HOST, port: NPROBE_EXPORT_PORT },
        { type: "eve-socket", path: SURICATA_EVE_SOCKET },
        { type: "zeek-dir", dir: ZEEK_LOG_DIR },
      ]);
      expect(config.interfaces.mirror).toBe("fos1-mirror");
    }
    const suricataOnly = renderAgentConfigs(site, 9443, "fos1-mirror", ["suricata"]);
    for (const [file, text] of Object.entries(suricataOnly)) {
      expect(parseAgentConfig(text, file).ingest.sources.map((s) => s.type)).toEqual(["eve-socket"]);
    }
  });
});
