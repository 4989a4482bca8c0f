// The sensor images' entrypoints, run for real against scratch directories:
// Suricata's fetch-rules with the real suricata-update on a real ET Open rule
// archive (only the download is a stand-in: no network here), the refusals
// that matter (a hash mismatch, a missing licence, a missing interface), and
// the defaults that must equal where the DpiSensor's pods mount things.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SENSOR_CONFIG_DIR,
  SURICATA_RULES_DIR,
  ZEEK_LOG_DIR,
} from "@fos1/dpi/components/kubernetes/sensor-config";
import { REPO } from "./components-harness";

const IMAGES = join(REPO, "sensor-images");
const ENTRYPOINTS = {
  suricata: join(IMAGES, "suricata", "entrypoint.sh"),
  zeek: join(IMAGES, "zeek", "entrypoint.sh"),
  nprobe: join(IMAGES, "nprobe", "entrypoint.sh"),
};
const ET_RULES = join(REPO, "..", "shared", "testdata", "rules", "et-open-2017-sample.rules");
const ET_RULE_COUNT = readFileSync(ET_RULES, "utf8")
  .split("\n")
  .filter((l) => /^alert /.test(l)).length;

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "si-entrypoint-"));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in program on PATH: a shell script body. */
function stub(name: string, body: string): string {
  const bin = join(scratch, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
  return bin;
}

function run(script: string, args: string[], env: Record<string, string>) {
  const result = spawnSync("bash", [script, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The `${NAME:-default}` default an entrypoint gives a variable. */
function defaultOf(script: string, variable: string): string | undefined {
  const text = readFileSync(script, "utf8");
  return new RegExp(`\\$\\{${variable}:-([^}]*)\\}`).exec(text)?.[1];
}

it("every entrypoint is valid bash, executable, and strict about errors", () => {
  for (const script of Object.values(ENTRYPOINTS)) {
    const syntax = spawnSync("bash", ["-n", script], { encoding: "utf8" });
    expect({ script, stderr: syntax.stderr, status: syntax.status }).toEqual({
      script,
      stderr: "",
      status: 0,
    });
    expect(readFileSync(script, "utf8")).toMatch(/^#!\/bin\/bash\n# SPDX-License-Identifier: Apache-2.0\n/);
    expect(readFileSync(script, "utf8")).toContain("\nset -euo pipefail\n");
    expect(spawnSync("test", ["-x", script]).status).toBe(0);
  }
});

it("entrypoints default to the paths the DpiSensor's pods mount", () => {
  for (const script of Object.values(ENTRYPOINTS)) {
    expect(defaultOf(script, "FOS1_CONFIG_DIR")).toBe(SENSOR_CONFIG_DIR);
  }
  expect(defaultOf(ENTRYPOINTS.suricata, "FOS1_RULES_DIR")).toBe(SURICATA_RULES_DIR);
  expect(defaultOf(ENTRYPOINTS.zeek, "FOS1_ZEEK_LOG_DIR")).toBe(ZEEK_LOG_DIR);
});

describe("suricata fetch-rules", () => {
  /** A rule archive as ET Open ships it (rules/*.rules in a .tar.gz), and its sha256. */
  function archive(): { path: string; sha256: string } {
    const src = join(scratch, "src", "rules");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "emerging-sample.rules"), readFileSync(ET_RULES));
    const path = join(scratch, "emerging.rules.tar.gz");
    expect(spawnSync("tar", ["-czf", path, "-C", join(scratch, "src"), "rules"]).status).toBe(0);
    return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
  }

  function fetchRules(list: string, archivePath: string) {
    const config = join(scratch, "config");
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "rule-sources.list"), list);
    writeFileSync(join(config, "suricata.yaml"), "%YAML 1.1\n---\n");
    // The download only: copies the archive to where curl was told to write it, and logs the URL.
    const bin = stub(
      "curl",
      `while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2;; https://*) echo "$1" >> ${scratch}/urls; shift;; *) shift;; esac; done\ncp ${archivePath} "$out"`,
    );
    return run(ENTRYPOINTS.suricata, ["fetch-rules"], {
      PATH: `${bin}:${process.env.PATH}`,
      FOS1_CONFIG_DIR: config,
      FOS1_RULES_DIR: join(scratch, "rules"),
      FOS1_WORK_DIR: join(scratch, "work"),
    });
  }

  it("merges a pinned archive whose sha256 matches into suricata.rules with suricata-update", () => {
    const { path, sha256 } = archive();
    const result = fetchRules(
      `# name sha256 url\net-open ${sha256} https://rules.example.org/et.tar.gz\n`,
      path,
    );
    expect(result.stdout).toContain(`et-open: sha256 ${sha256} verified`);
    expect(result.status).toBe(0);
    const rules = readFileSync(join(scratch, "rules", "suricata.rules"), "utf8");
    expect(rules.split("\n").filter((l) => /^alert /.test(l))).toHaveLength(ET_RULE_COUNT);
    expect(rules).toContain("sid:2000345;");
    expect(readFileSync(join(scratch, "urls"), "utf8")).toBe("https://rules.example.org/et.tar.gz\n");
  });

  it("refuses an archive whose sha256 differs from its pin: nothing is merged, the download is removed", () => {
    const { path, sha256 } = archive();
    const pinned = "b".repeat(64);
    const result = fetchRules(`et-open ${pinned} https://rules.example.org/et.tar.gz\n`, path);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `fos1-suricata: et-open: https://rules.example.org/et.tar.gz has sha256 ${sha256}, pinned ${pinned}: refusing it`,
    );
    expect(existsSync(join(scratch, "rules", "suricata.rules"))).toBe(false);
    expect(readdirSync(join(scratch, "work", "archives"))).toEqual([]);
  });

  it("refuses a second archive that fails its pin even when the first one passed", () => {
    const { path, sha256 } = archive();
    const result = fetchRules(
      `et-open ${sha256} https://rules.example.org/a.tar.gz\nother ${"c".repeat(64)} https://rules.example.org/b.tar.gz\n`,
      path,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/other: .* pinned c{64}: refusing it/);
    expect(existsSync(join(scratch, "rules", "suricata.rules"))).toBe(false);
  });

  it("refuses a malformed list and an empty one", () => {
    const { path } = archive();
    const malformed = fetchRules("et-open not-a-hash https://rules.example.org/et.tar.gz\n", path);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain("et-open: 'not-a-hash' is not a sha256");
    const empty = fetchRules("# name sha256 url\n", path);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain("no rule source; Suricata without rules inspects nothing");
  });

  it("refuses to run Suricata without fetched rules", () => {
    const result = run(ENTRYPOINTS.suricata, ["run"], {
      FOS1_RULES_DIR: join(scratch, "rules"),
      FOS1_MIRROR_INTERFACE: "lo",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("suricata.rules: missing; run 'fetch-rules' first");
  });

  it("starts Suricata on the mirror interface with the rendered configuration", () => {
    mkdirSync(join(scratch, "rules"));
    writeFileSync(join(scratch, "rules", "suricata.rules"), "alert ip any any -> any any (sid:1;)\n");
    const bin = stub("suricata", 'echo "$@"');
    const result = run(ENTRYPOINTS.suricata, ["run"], {
      PATH: `${bin}:${process.env.PATH}`,
      FOS1_CONFIG_DIR: "/cfg",
      FOS1_RULES_DIR: join(scratch, "rules"),
      FOS1_MIRROR_INTERFACE: "lo",
    });
    expect(result).toMatchObject({ status: 0, stdout: "-c /cfg/suricata.yaml --af-packet=lo\n" });
  });
});

describe("nprobe", () => {
  function start(license: string | undefined) {
    const config = join(scratch, "config");
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "nprobe.conf"), "-i=lo\n");
    const licenseFile = join(scratch, "nprobe.license");
    if (license !== undefined) writeFileSync(licenseFile, license);
    const bin = stub("nprobe", 'echo "$@"');
    return run(ENTRYPOINTS.nprobe, [], {
      PATH: `${bin}:${process.env.PATH}`,
      FOS1_CONFIG_DIR: config,
      FOS1_NPROBE_LICENSE: licenseFile,
      FOS1_MIRROR_INTERFACE: "lo",
    });
  }

  it("refuses to start without a licence, saying which Secret provides it", () => {
    for (const license of [undefined, ""]) {
      const result = start(license);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(
        `fos1-nprobe: no licence at ${join(scratch, "nprobe.license")}: create the Secret '<DpiSensor name>-nprobe-license' with key 'nprobe.license'`,
      );
    }
  });

  it("starts nProbe with the rendered configuration once the licence is there", () => {
    const result = start("LICENSE-KEY\n");
    expect(result).toMatchObject({ status: 0, stdout: `${join(scratch, "config", "nprobe.conf")}\n` });
  });
});

describe("zeek", () => {
  it("gives up on a mirror interface that does not appear", () => {
    writeFileSync(join(scratch, "local.zeek"), "");
    const result = run(ENTRYPOINTS.zeek, [], {
      FOS1_CONFIG_DIR: scratch,
      FOS1_MIRROR_INTERFACE: "si-absent0",
      FOS1_INTERFACE_WAIT_SECONDS: "1",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("fos1-zeek: interface si-absent0 did not appear within 1s");
  });

  it("runs Zeek in the log directory on the interface, after pruning only rotated logs past retention", async () => {
    writeFileSync(join(scratch, "local.zeek"), "");
    const logs = join(scratch, "logs");
    mkdirSync(logs);
    const old = Date.now() / 1000 - 3 * 3600;
    const files = {
      live: "conn.log",
      oldRotated: "conn.2026-01-01-00-00-00.log",
      recentRotated: "dns.2026-01-01-01-00-00.log",
    };
    for (const name of Object.values(files)) writeFileSync(join(logs, name), "{}\n");
    for (const name of [files.live, files.oldRotated]) utimesSync(join(logs, name), old, old);
    const bin = stub("zeek", `echo "$(pwd) $*" > ${scratch}/zeek-started`);
    // Detached, so the pruning loop the entrypoint leaves behind is ended with its process group.
    const child = spawn("bash", [ENTRYPOINTS.zeek], {
      detached: true,
      stdio: "ignore",
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        FOS1_CONFIG_DIR: scratch,
        FOS1_ZEEK_LOG_DIR: logs,
        FOS1_MIRROR_INTERFACE: "lo",
        FOS1_ZEEK_RETENTION_HOURS: "2",
      },
    });
    try {
      const status = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(status).toBe(0);
      expect(readFileSync(join(scratch, "zeek-started"), "utf8")).toBe(
        `${logs} -C -i af_packet::lo ${join(scratch, "local.zeek")}\n`,
      );
      expect(readdirSync(logs).sort()).toEqual([files.live, files.recentRotated].sort());
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group is already gone.
      }
    }
  });
});
