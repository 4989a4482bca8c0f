import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import {
  APPLICATIONS,
  NDPI_UNMAPPED,
  SURICATA_APP_PROTOCOLS,
  ZEEK_SERVICES,
  applicationFromHost,
  applicationFromNdpi,
} from "@fos1/dpi/sdk/apps";

// The shared corpus of real engine output sits beside the repository (see DESIGN.md).
const TESTDATA = process.env.FOS1_TESTDATA ?? path.resolve(__dirname, "../../../shared/testdata");

function testdata(...parts: string[]): string {
  const file = path.join(TESTDATA, ...parts);
  if (!existsSync(file)) throw new Error(`test data missing: ${file} (set FOS1_TESTDATA to the corpus)`);
  return file;
}

function jsonLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Protocol names the installed nDPI knows, from `ndpiReader -a 0`. */
function installedNdpiProtocols(): Set<string> {
  let out: string;
  try {
    out = execFileSync("ndpiReader", ["-a", "0"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new Error(
      `ndpiReader -a 0 failed (${(error as Error).message}); install libndpi-bin (scripts/debian-packages.txt)`,
    );
  }
  const names = [...out.matchAll(/<Option\d+ value="\d+">([^<]+)<\/Option\d+>/g)].map((m) => m[1]);
  if (names.length < 100) throw new Error(`ndpiReader -a 0 listed only ${names.length} protocols:\n${out}`);
  return new Set(names);
}

/** Every `[proto: N/Label]` and its `[Hostname/SNI: ...]` in ndpiReader 4.2's test-format output. */
function ndpiFlows(): { label: string; host: string | undefined; file: string }[] {
  const dir = testdata("ndpi", "result-4.2", "testfmt");
  const files = readdirSync(dir).filter((f) => f.endsWith(".out"));
  if (files.length === 0) throw new Error(`no .out files in ${dir}`);
  return files.flatMap((file) =>
    readFileSync(path.join(dir, file), "utf8")
      .split("\n")
      .flatMap((line) => {
        const label = /\[proto: [\d.]+\/([^\]]+)\]/.exec(line)?.[1];
        const host = /\[Hostname\/SNI: ([^\]]+)\]/.exec(line)?.[1];
        return label === undefined ? [] : [{ label, host, file }];
      }),
  );
}

describe("nDPI names", () => {
  const installed = installedNdpiProtocols();

  it("are all protocols the installed ndpiReader knows", () => {
    const missing = APPLICATIONS.flatMap((a) =>
      a.ndpi.filter((n) => !installed.has(n)).map((n) => `${a.name}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it("left unmapped on purpose are real nDPI names and in no application", () => {
    const inCatalog = new Set(APPLICATIONS.flatMap((a) => a.ndpi));
    for (const name of Object.keys(NDPI_UNMAPPED)) {
      // ndpiReader -a 0 lists ids from 1; Unknown is id 0.
      if (name !== "Unknown") expect(installed).toContain(name);
      expect(inCatalog).not.toContain(name);
    }
  });
});

describe("nDPI 4.2 labels in the real captures", () => {
  const flows = ndpiFlows();

  it("were found", () => {
    expect(flows.length).toBeGreaterThan(100);
  });

  it("all map to an application except exactly the unmapped-on-purpose ones", () => {
    const unmapped = [
      ...new Set(flows.filter((f) => !applicationFromNdpi(f.label)).map((f) => f.label)),
    ].sort();
    expect(unmapped).toEqual(["IGMP", "Unknown"]);
    for (const label of unmapped) expect(NDPI_UNMAPPED).toHaveProperty(label);
  });

  it("name no protocol the catalog lacks, except exactly the unmapped-on-purpose ones", () => {
    const known = new Set(APPLICATIONS.flatMap((a) => a.ndpi));
    const parts = new Set(flows.flatMap((f) => f.label.split(".")));
    const lacking = [...parts].filter((p) => !known.has(p)).sort();
    expect(lacking).toEqual(["IGMP", "Unknown", "ntop"]);
    for (const name of lacking) expect(NDPI_UNMAPPED).toHaveProperty(name);
  });

  it("agree with the catalog's domains for every named host nDPI recognised by name", () => {
    // nDPI also recognises by server address: these flows' hosts are unrelated to the service.
    const byAddress = [
      "DNS.Google fg2.weberlab.de",
      "DNS.Google weberlab.de",
      "TLS.AmazonAWS api.crittercism.com",
    ];
    const known = new Set(APPLICATIONS.flatMap((a) => a.ndpi));
    const disagreements = flows
      .filter((f) => known.has(f.label.split(".")[1] ?? "") && /^[a-z0-9.-]*[a-z]$/i.test(f.host ?? ""))
      .filter((f) => applicationFromHost(f.host as string) !== applicationFromNdpi(f.label))
      .map((f) => `${f.label} ${f.host}`);
    expect([...new Set(disagreements)].sort()).toEqual(byAddress);
  });
});

describe("Suricata app-layer names", () => {
  const reference = new Set(SURICATA_APP_PROTOCOLS);

  it("in the catalog are all in the reference list", () => {
    const unknown = APPLICATIONS.flatMap((a) => a.suricata.filter((n) => !reference.has(n)));
    expect(unknown).toEqual([]);
  });

  it("in the reference list cover every app_proto in the real EVE logs", () => {
    const dir = testdata("suricata");
    const seen = new Set(
      readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .flatMap((f) => jsonLines(path.join(dir, f)))
        .flatMap((event) =>
          ["app_proto", "app_proto_ts", "app_proto_tc", "app_proto_orig", "app_proto_expected"]
            .map((key) => event[key])
            .filter((value): value is string => typeof value === "string"),
        ),
    );
    expect(seen.size).toBeGreaterThan(5);
    expect([...seen].filter((name) => !reference.has(name))).toEqual([]);
  });
});

describe("Zeek service names", () => {
  const reference = new Set(ZEEK_SERVICES);

  it("in the catalog are all in the reference list", () => {
    const unknown = APPLICATIONS.flatMap((a) => a.zeek.filter((n) => !reference.has(n)));
    expect(unknown).toEqual([]);
  });

  it("in the reference list cover every service in the real conn logs and known_services", () => {
    const dir = testdata("zeek");
    const conn = readdirSync(dir)
      .filter((f) => f.endsWith("conn.json"))
      .flatMap((f) => jsonLines(path.join(dir, f)))
      .map((record) => record.service)
      .filter((s): s is string => typeof s === "string")
      .flatMap((s) => s.split(","));
    const known = jsonLines(testdata("zeek", "zed-sample-data-wrccdc2018-known_services.json"))
      .flatMap((record) => (Array.isArray(record.service) ? (record.service as string[]) : []))
      .map((s) => s.toLowerCase())
      // known_services logs an empty service for ports where no analyzer confirmed a protocol.
      .filter((s) => s !== "");
    expect(conn.length).toBeGreaterThan(10);
    expect(known.length).toBeGreaterThan(10);
    const missing = [...new Set([...conn, ...known])].filter((name) => !reference.has(name));
    expect(missing).toEqual([]);
  });
});
