import { loadYamlDocuments, type Problem } from "@fos1/dpi/sdk/schema";

/**
 * Each case is a document an operator could plausibly write, and the exact
 * problems (path and message) it must be rejected with. A case lists every
 * problem: a document that gains or loses one fails the test.
 */
const header = (kind: string) =>
  `apiVersion: networking.fos1.io/v1\nkind: ${kind}\nmetadata: { name: test }\n`;
const qos = (classes: string) => `${header("QoSPolicy")}spec:\n  classes:\n${classes}`;
const siteDoc = (spec: string) => `${header("Site")}spec:\n${spec}`;
const siteBase = `  lan: { interfaces: [lan0] }\n  nodes: [{ name: r1, agent: { url: "https://10.0.0.1:9443" } }]\n`;
const uplink = (name: string, extra = "") =>
  `    - { name: ${name}, interface: ${name}, bandwidth: 100Mbit, gateway: 192.0.2.1${extra} }\n`;
const sensor = (spec: string) => `${header("DpiSensor")}spec:\n${spec}`;
const fast = (spec: string) => `${header("FastPathPolicy")}spec:\n${spec}`;

const cases: [string, string, [string, string | RegExp][]][] = [
  [
    "class minimums over 100%",
    qos(
      "    - { name: a, applications: [sip], priority: high, bandwidth: { min: 60% } }\n    - { name: b, applications: [http], priority: low, bandwidth: { min: 50% } }\n",
    ),
    [["spec.classes", "class minimums sum to 110%, more than the 100% an uplink has"]],
  ],
  [
    "min above max",
    qos("    - { name: a, applications: [sip], priority: high, bandwidth: { min: 50%, max: 40% } }\n"),
    [["spec.classes[0].bandwidth.min", "min 50% is greater than max 40%"]],
  ],
  [
    "duplicate class name",
    qos(
      "    - { name: a, applications: [sip], priority: high }\n    - { name: a, applications: [http], priority: low }\n",
    ),
    [["spec.classes[1].name", 'duplicate class name "a" (also at index 0)']],
  ],
  [
    "unknown application lists the nearest names",
    qos("    - { name: a, applications: [sip, youtub], priority: high }\n"),
    [["spec.classes[0].applications[1]", /^unknown application "youtub"; nearest known: youtube(, |$)/]],
  ],
  [
    "percentage over 100",
    qos("    - { name: a, applications: [sip], priority: high, bandwidth: { max: 120% } }\n"),
    [["spec.classes[0].bandwidth.max", 'expected a percentage from 0% to 100% such as "20%", got "120%"']],
  ],
  [
    "percentage that is not a number",
    qos("    - { name: a, applications: [sip], priority: high, bandwidth: { min: lots } }\n"),
    [["spec.classes[0].bandwidth.min", 'expected a percentage from 0% to 100% such as "20%", got "lots"']],
  ],
  [
    "unknown priority",
    qos("    - { name: a, applications: [sip], priority: urgent }\n"),
    [["spec.classes[0].priority", 'Invalid option: expected one of "high"|"medium"|"low"']],
  ],
  [
    "a number where a name belongs",
    qos("    - { name: 7, applications: [sip], priority: high }\n"),
    [["spec.classes[0].name", "Invalid input: expected string, received number"]],
  ],
  [
    "wrong apiVersion",
    "apiVersion: networking.fos1.io/v2\nkind: QoSPolicy\nmetadata: { name: t }\nspec: { classes: [{ name: a, applications: [sip], priority: high }] }\n",
    [["apiVersion", 'must be "networking.fos1.io/v1"']],
  ],
  [
    "unknown kind",
    `${header("QosPolicy")}spec: {}\n`,
    [["kind", /^unknown kind "QosPolicy"; expected one of QoSPolicy, /]],
  ],
  [
    "missing name",
    "apiVersion: networking.fos1.io/v1\nkind: RoutingPolicy\nmetadata: {}\nspec: { rules: [{ name: r, applications: [sip], action: { routeVia: isp1 } }] }\n",
    [["metadata.name", "required"]],
  ],
  [
    "misspelt field",
    `${header("QoSPolicy")}spec:\n  clases: []\n`,
    [
      ["spec.classes", "required"],
      ["spec", 'unknown field "clases"'],
    ],
  ],
  [
    "application in two classes",
    qos(
      "    - { name: a, applications: [zoom], priority: high }\n    - { name: b, applications: [zoom], priority: low }\n",
    ),
    [["spec.classes[1].applications[0]", 'application "zoom" is already in class "a"']],
  ],
  [
    "category overlapping an application of another class",
    qos(
      "    - { name: a, applications: [dropbox], priority: high }\n    - { name: b, applications: [storage], priority: low }\n",
    ),
    [
      [
        "spec.classes[1].applications[0]",
        'application "dropbox" (through "storage") is already in class "a"',
      ],
    ],
  ],
  [
    "class without applications",
    qos("    - { name: a, priority: high }\n"),
    [["spec.classes[0].applications", 'required (only the "default" class may omit it)']],
  ],
  [
    "application listed twice",
    qos("    - { name: a, applications: [sip, sip], priority: high }\n"),
    [["spec.classes[0].applications[1]", '"sip" is listed twice']],
  ],
  [
    "unknown DSCP name",
    qos("    - { name: a, applications: [sip], priority: high, dscp: EFF }\n"),
    [
      [
        "spec.classes[0].dscp",
        /^expected a DSCP name \(EF, AF41, AF21, CS1, BE, \.\.\.\) or a number from 0 to 63, got "EFF"$/,
      ],
    ],
  ],
  [
    "upper-case class name",
    qos("    - { name: Web, applications: [http], priority: high }\n"),
    [
      [
        "spec.classes[0].name",
        "must be lower-case letters, digits and '-', starting and ending with a letter or digit",
      ],
    ],
  ],
  [
    "duplicate rule names",
    `${header("RoutingPolicy")}spec:\n  rules:\n    - { name: r, applications: [sip], action: { routeVia: a } }\n    - { name: r, applications: [http], action: { routeVia: b } }\n`,
    [["spec.rules[1].name", 'duplicate rule name "r" (also at index 0)']],
  ],
  [
    "rule matching everything",
    `${header("RoutingPolicy")}spec:\n  rules:\n    - { name: r, action: { routeVia: a } }\n`,
    [["spec.rules[0]", /^a rule needs applications, networkSegment or both/]],
  ],
  [
    "duplicate uplink names",
    siteDoc(
      `  uplinks:\n${uplink("isp1")}    - { name: isp1, interface: wan9, bandwidth: 1Gbit, gateway: 192.0.2.9 }\n${siteBase}`,
    ),
    [["spec.uplinks[1].name", 'duplicate uplink name "isp1" (also at index 0)']],
  ],
  [
    "reserved routing table",
    siteDoc(`  uplinks:\n${uplink("isp1", ", table: 254")}${siteBase}`),
    [["spec.uplinks[0].table", "table 254 is reserved by the kernel"]],
  ],
  [
    "gateway that is not an address",
    siteDoc(
      `  uplinks:\n    - { name: isp1, interface: wan1, bandwidth: 100Mbit, gateway: router.isp }\n${siteBase}`,
    ),
    [["spec.uplinks[0].gateway", "must be an IPv4 or IPv6 address"]],
  ],
  [
    "bandwidth without a unit",
    siteDoc(
      `  uplinks:\n    - { name: isp1, interface: wan1, bandwidth: fast, gateway: 192.0.2.1 }\n${siteBase}`,
    ),
    [
      [
        "spec.uplinks[0].bandwidth",
        'expected a bandwidth from 8kbit to 10Tbit such as "100Mbit" or "1Gbps", got "fast"',
      ],
    ],
  ],
  [
    "two default uplinks",
    siteDoc(`  uplinks:\n${uplink("a", ", default: true")}${uplink("b", ", default: true")}${siteBase}`),
    [["spec.uplinks[1].default", "only one uplink may be the default"]],
  ],
  [
    "more uplinks than the mark mask holds",
    siteDoc(`  fwmarkMask: "0x10"\n  uplinks:\n${uplink("a")}${uplink("b")}${siteBase}`),
    [["spec.uplinks[1].name", /^mark 0x20 does not fit fwmarkMask 0x10/]],
  ],
  [
    "agent over plain http",
    siteDoc(
      `  uplinks:\n${uplink("a")}  lan: { interfaces: [lan0] }\n  nodes: [{ name: r1, agent: { url: "http://10.0.0.1:9443" } }]\n`,
    ),
    [["spec.nodes[0].agent.url", "must be an https URL (the agent API carries credentials)"]],
  ],
  [
    "node interface for an unknown uplink",
    siteDoc(
      `  uplinks:\n${uplink("a")}  lan: { interfaces: [lan0] }\n  nodes: [{ name: r1, agent: { url: "https://10.0.0.1:9443" }, interfaces: { b: eth9 } }]\n`,
    ),
    [["spec.nodes[0].interfaces.b", 'no uplink named "b" on this site']],
  ],
  [
    "interface name too long for the kernel",
    siteDoc(
      `  uplinks:\n    - { name: a, interface: a-very-long-interface, bandwidth: 1Gbit, gateway: 192.0.2.1 }\n${siteBase}`,
    ),
    [["spec.uplinks[0].interface", /^must be a Linux interface name/]],
  ],
  [
    "offloading a sensitive application",
    fast("  offload: [{ name: o, applications: [ssh, netflix] }]\n  sensitiveApplications: [ssh]\n"),
    [
      [
        "spec.offload[0].applications[0]",
        'application "ssh" is also in sensitiveApplications, which never leaves the slow path',
      ],
    ],
  ],
  [
    "sampling one in zero",
    fast("  sampling: { oneIn: 0 }\n"),
    [["spec.sampling.oneIn", /^Too small: expected number to be >=1/]],
  ],
  [
    "duration in words",
    fast('  reinspectAfter: "5 minutes"\n'),
    [["spec.reinspectAfter", 'expected a duration from 1ms to 30d such as "30s" or "5m", got "5 minutes"']],
  ],
  [
    "critical zone without members",
    fast("  criticalZones: [{ name: pay }]\n"),
    [["spec.criticalZones[0]", "a zone needs prefixes or interfaces"]],
  ],
  [
    "block longer than a week",
    `${header("FirewallPolicy")}spec:\n  blocks: { ttl: 30d }\n`,
    [["spec.blocks.ttl", "must be at most 7d; longer blocks belong in a static rule"]],
  ],
  [
    "risk threshold over 100",
    `${header("FirewallPolicy")}spec:\n  blocks: { riskThreshold: 150 }\n`,
    [["spec.blocks.riskThreshold", /^Too big: expected number to be <=100/]],
  ],
  [
    "suricata without rules",
    sensor("  engines: [suricata]\n  expectedThroughput: 1Gbit\n"),
    [["spec.ruleSources", "suricata needs at least one pinned rule source"]],
  ],
  [
    "rule source not pinned by a hash",
    sensor(
      "  engines: [suricata]\n  expectedThroughput: 1Gbit\n  ruleSources: [{ name: et, url: https://example.org/r.tar.gz, sha256: latest }]\n",
    ),
    [["spec.ruleSources[0].sha256", "must be 64 lower-case hex digits (the archive's sha256)"]],
  ],
  [
    "duplicate engine and a bad prefix",
    sensor("  engines: [ndpi, ndpi]\n  expectedThroughput: 1Gbit\n  prefixes: [10.0.0.0/33]\n"),
    [
      ["spec.prefixes[0]", 'expected an IPv4 or IPv6 prefix such as "10.0.0.0/24", got "10.0.0.0/33"'],
      ["spec.engines[1]", 'duplicate engine "ndpi" (also at index 0)'],
    ],
  ],
];

function simplify(problems: Problem[]): [string, string][] {
  return problems.map((p) => [p.path, p.message]);
}

describe("invalid documents are rejected with every problem, its path and reason", () => {
  it.each(cases)("%s", (_title, yaml, expected) => {
    const result = loadYamlDocuments(yaml, "policy.yaml");
    expect(result.documents).toEqual([]);
    const actual = simplify(result.problems);
    expect(actual).toHaveLength(expected.length);
    for (const [path, message] of expected) {
      expect(actual).toContainEqual([
        path,
        typeof message === "string" ? message : expect.stringMatching(message),
      ]);
    }
  });

  it("reports the line and column of the offending value", () => {
    const yaml = qos(
      "    - { name: a, applications: [sip], priority: high }\n    - { name: b, applications: [sip, youtub], priority: low }\n",
    );
    const problems = loadYamlDocuments(yaml, "policy.yaml").problems;
    expect(problems.map((p) => [p.path, p.line, p.column]).sort()).toEqual([
      ["spec.classes[1].applications[0]", 7, 33],
      ["spec.classes[1].applications[1]", 7, 38],
    ]);
  });

  it("reports a YAML syntax error with its position and keeps the other documents", () => {
    const yaml = `${qos("    - { name: a, applications: [sip], priority: high }\n")}---\nkind: [unclosed\n`;
    const result = loadYamlDocuments(yaml, "policy.yaml");
    expect(result.documents.map((d) => d.document.kind)).toEqual(["QoSPolicy"]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({
      file: "policy.yaml",
      path: "",
      line: 9,
      message: expect.stringMatching(/^YAML: /),
    });
  });
});

export const INVALID_CASE_COUNT = cases.length;
