import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "@fos1/dpi/cli/run";
import type { Io } from "@fos1/dpi/cli/io";

/**
 * `fos1-dpi simulate` on real captures: nDPI (the project's sensor) classifies
 * them; these tests check the per-flow decisions against what the policies say.
 */
const root = join(__dirname, "..", "..");
const pcap = (name: string) => join(root, "..", "shared", "testdata", "ndpi", "pcap", name);
const example = (f: string) => join(root, "examples", f);

beforeAll(() => {
  execFileSync("make", ["-s", "-C", join(root, "sensor-images", "ndpi")], { stdio: "inherit" });
});

async function cli(argv: string[], files: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    readFile: (p) => files[p] ?? readFileSync(p, "utf8"),
    writeFile: (p, t) => (files[p] = t),
  };
  const status = await run(argv, io);
  return { status, stdout, stderr };
}

interface Row {
  flow: string;
  app: string;
  class: string;
  dscp: number;
  uplink: string;
  path: string;
  verdict: string;
  dstIp: string;
  reasons: string[];
}

const policies = [example("policies/design.yaml"), example("policies/fast-path.yaml")];

describe("fos1-dpi simulate", () => {
  it("netflix.pcap: a netflix destination, once learned, takes isp2 from the first packet of the next flow", async () => {
    const r = await cli([
      "simulate",
      "--json",
      "--site",
      example("sites/branch.yaml"),
      "--pcap",
      pcap("netflix.pcap"),
      ...policies,
    ]);
    expect(r.status).toBe(0);
    const flows = JSON.parse(r.stdout).flows as Row[];
    expect(flows.length).toBeGreaterThan(50);
    const learned = new Set<string>();
    let viaIsp2 = 0;
    for (const f of flows) {
      // Flows are in first-packet order: only a destination some earlier flow was classified to may take isp2.
      if (f.uplink === "isp2") {
        viaIsp2++;
        expect(learned).toContain(f.dstIp);
        expect(f.reasons[0]).toBe("route isp2 at first packet (destination learned)");
      } else expect(f.uplink).toBe("main");
      if (f.app === "netflix") learned.add(f.dstIp);
    }
    // nDPI names the lookups DNS.NetFlix; they are DNS flows to the resolver and must not teach it as a netflix server.
    const lookups = flows.filter((f) => f.dstIp === "192.168.1.1");
    expect(lookups.length).toBeGreaterThan(5);
    expect(lookups.every((f) => f.app === "dns" && f.uplink === "main")).toBe(true);
    expect(viaIsp2).toBeGreaterThan(10);
    const tlsNetflix = flows.filter((f) => f.app === "netflix" && f.flow.includes(":443 "));
    expect(tlsNetflix.every((f) => f.class === "default" && f.verdict === "allowed")).toBe(true);
    expect(flows.some((f) => f.path === "fast")).toBe(true);
    expect(flows.filter((f) => f.path === "fast").every((f) => f.app === "netflix")).toBe(true);
  });

  it("sip.pcap and bittorrent.pcap: voip and bulk classes with their DSCP", async () => {
    const r = await cli([
      "simulate",
      "--json",
      "--site",
      example("sites/branch.yaml"),
      "--pcap",
      pcap("sip.pcap"),
      "--pcap",
      pcap("bittorrent.pcap"),
      ...policies,
    ]);
    const { flows, classes } = JSON.parse(r.stdout) as {
      flows: Row[];
      classes: { class: string; dscp: number; flows: number }[];
    };
    const byApp = (app: string) => flows.filter((f) => f.app === app);
    expect(byApp("sip").length).toBeGreaterThan(0);
    expect(byApp("sip").every((f) => f.class === "voip" && f.dscp === 46 && f.path === "slow")).toBe(true);
    expect(byApp("bittorrent").length).toBe(24);
    expect(byApp("bittorrent").every((f) => f.class === "bulk" && f.dscp === 8)).toBe(true);
    expect(classes.find((c) => c.class === "bulk")).toMatchObject({ dscp: 8, flows: 24 });
  });

  it("--against shows exactly the flows a policy change moves", async () => {
    const oldRouting = readFileSync(example("policies/design.yaml"), "utf8").replace(
      'applications: ["netflix", "youtube", "spotify"]',
      'applications: ["youtube", "spotify"]',
    );
    const r = await cli(
      [
        "simulate",
        "--json",
        "--site",
        example("sites/branch.yaml"),
        "--pcap",
        pcap("netflix.pcap"),
        "--against",
        "old.yaml",
        ...policies.slice(0, 1),
      ],
      { "old.yaml": oldRouting },
    );
    const out = JSON.parse(r.stdout) as {
      flows: Row[];
      changes: { flow: string; changes: { field: string; before: string; after: string }[] }[];
    };
    const moved = out.flows.filter((f) => f.uplink === "isp2").map((f) => f.flow);
    expect(moved.length).toBeGreaterThan(0);
    expect(out.changes.map((c) => c.flow).sort()).toEqual(moved.sort());
    expect(
      out.changes.every(
        (c) => c.changes.length === 1 && c.changes[0].field === "uplink" && c.changes[0].before === "main",
      ),
    ).toBe(true);
  });

  it("prints a table by default and rejects bad input with paths", async () => {
    const r = await cli([
      "simulate",
      "--site",
      example("sites/branch.yaml"),
      "--pcap",
      pcap("salesforce.pcap"),
      ...policies,
    ]);
    expect(r.stdout.split("\n")[0].split(/\s+/)).toEqual([
      "FLOW",
      "APP",
      "CLASS",
      "DSCP",
      "UPLINK",
      "PATH",
      "VERDICT",
    ]);
    expect(r.stdout).toMatch(/salesforce\s+default\s+0\s+main\s+slow\s+allowed/);
    const bad = await cli([
      "simulate",
      "--site",
      example("sites/two-uplinks.yaml"),
      "--pcap",
      pcap("salesforce.pcap"),
      example("policies/design.yaml"),
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("spec.rules[1].action.routeVia");
    expect((await cli(["simulate", "--site", example("sites/branch.yaml"), ...policies])).stderr).toContain(
      "--pcap is required",
    );
  });
});
