import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NdpiSensorSource } from "../../src/ingest";
import { buildSensor, NDPI_PCAP_DIR } from "../../../test/unit/ndpi-sensor-harness";
import { collectingSink, tempDir, waitFor } from "./ingest-harness";

// Stands in for `fos1-ndpi-sensor -i IFACE` where capturing needs no privileges: records
// its arguments, prints the classified lines the real sensor printed for a capture, runs
// until told to stop, and on SIGTERM prints the flow ends, as the real sensor does. The
// handler comes first: the test may stop it as soon as it has read the classified lines.
const STAND_IN = (dir: string) => `#!${process.execPath}
const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(join(dir, "args"))}, JSON.stringify(process.argv.slice(2)) + "\\n");
process.on("SIGTERM", () => process.stdout.write(fs.readFileSync(${JSON.stringify(join(dir, "end.jsonl"))}), () => process.exit(0)));
process.stdout.write(fs.readFileSync(${JSON.stringify(join(dir, "classified.jsonl"))}));
setInterval(() => undefined, 1000);
`;

const dirs: { remove(): void }[] = [];
const sources: NdpiSensorSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) d.remove();
});

/** The real sensor's lines for a capture, split by event. */
function realSensorLines(pcap: string): { classified: string[]; end: string[] } {
  const out = execFileSync(buildSensor(), ["-r", join(NDPI_PCAP_DIR, pcap)], { encoding: "utf8" });
  const lines = out.split("\n").filter((l) => l !== "");
  return {
    classified: lines.filter((l) => l.includes('"event":"classified"')),
    end: lines.filter((l) => l.includes('"event":"end"')),
  };
}

function standIn(): { dir: string; binary: string; classified: number; ends: number } {
  const temp = tempDir("ndpi");
  dirs.push(temp);
  const { classified, end } = realSensorLines("whatsapp_login_chat.pcap");
  writeFileSync(join(temp.dir, "classified.jsonl"), classified.map((l) => `${l}\n`).join(""));
  writeFileSync(join(temp.dir, "end.jsonl"), end.map((l) => `${l}\n`).join(""));
  const binary = join(temp.dir, "fos1-ndpi-sensor");
  writeFileSync(binary, STAND_IN(temp.dir), { mode: 0o755 });
  return { dir: temp.dir, binary, classified: classified.length, ends: end.length };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("NdpiSensorSource", () => {
  it("restarts a killed sensor, and on stop delivers the flow ends it prints and leaves no process", async () => {
    const sensor = standIn();
    const { sink, events } = collectingSink();
    const source = new NdpiSensorSource({
      name: "ndpi",
      binary: sensor.binary,
      iface: "igmirror0",
      args: ["--idle-timeout", "30"],
      sink,
      restartInitialMs: 50,
    });
    sources.push(source);
    await source.start();
    await waitFor("the classified lines", () => events.length === sensor.classified);
    expect(events.every((e) => e.engine === "ndpi" && e.kind === "classification")).toBe(true);
    expect(events.map((e) => e.application?.engineName)).toContain("WhatsApp");

    const first = source.pid as number;
    process.kill(first, "SIGKILL");
    await waitFor(
      "a restarted sensor",
      () => source.stats().restarts === 1 && events.length === 2 * sensor.classified,
    );
    const second = source.pid as number;
    expect(second).not.toBe(first);
    expect(source.stats().lastError).toBe("fos1-ndpi-sensor killed by SIGKILL");

    await source.stop();
    sources.pop();
    expect(events.filter((e) => e.kind === "flow")).toHaveLength(sensor.ends);
    expect(alive(second)).toBe(false);
    expect(source.pid).toBeUndefined();
    const runs = readFileSync(join(sensor.dir, "args"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(runs).toEqual([
      ["-i", "igmirror0", "--idle-timeout", "30"],
      ["-i", "igmirror0", "--idle-timeout", "30"],
    ]);
  });

  it("backs off between restarts of a sensor that keeps failing, and says why it failed", async () => {
    const temp = tempDir("ndpi-fail");
    dirs.push(temp);
    const binary = join(temp.dir, "fos1-ndpi-sensor");
    writeFileSync(
      binary,
      '#!/bin/sh\necho "fos1-ndpi-sensor: igmissing0: No such device exists" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const source = new NdpiSensorSource({
      name: "ndpi",
      binary,
      iface: "igmissing0",
      sink: collectingSink().sink,
      restartInitialMs: 20,
      restartMaxMs: 160,
    });
    sources.push(source);
    const started = Date.now();
    await source.start();
    await waitFor("four restarts", () => source.stats().restarts >= 4);
    // 20 + 40 + 80 ms of backoff at least before the fourth restart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(source.stats().lastError).toBe(
      "fos1-ndpi-sensor exit status 1: fos1-ndpi-sensor: igmissing0: No such device exists",
    );
  });

  it("fails to start when the sensor binary cannot run", async () => {
    const source = new NdpiSensorSource({
      name: "ndpi",
      binary: "/nonexistent/fos1-ndpi-sensor",
      iface: "igmirror0",
      sink: collectingSink().sink,
    });
    await expect(source.start()).rejects.toThrow(/ENOENT/);
  });
});
