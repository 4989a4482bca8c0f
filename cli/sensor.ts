import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseNdpiRecord, type DpiEvent } from "../sdk/events";

/**
 * Where `fos1-ndpi-sensor` is: $FOS1_NDPI_SENSOR, the build in this checkout,
 * or the PATH (as installed in the sensor image).
 */
export function ndpiSensorPath(): string {
  if (process.env.FOS1_NDPI_SENSOR) return process.env.FOS1_NDPI_SENSOR;
  for (const base of [join(__dirname, ".."), join(__dirname, "..", "..")]) {
    const built = join(base, "sensor-images", "ndpi", "build", "fos1-ndpi-sensor");
    if (existsSync(built)) return built;
  }
  return "fos1-ndpi-sensor";
}

export interface SensorRun {
  readonly events: DpiEvent[];
  readonly rejected: { line: string; reason: string }[];
}

/** Classifies every flow of a capture with the nDPI sensor, as DpiEvents. */
export function classifyCapture(pcap: string): Promise<SensorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(ndpiSensorPath(), ["-r", pcap], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", (error) =>
      reject(
        new Error(
          `cannot run the nDPI sensor (${ndpiSensorPath()}): ${error.message}; build it with make -C sensor-images/ndpi`,
        ),
      ),
    );
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`nDPI sensor failed on ${pcap} (exit ${code}): ${stderr.trim()}`));
        return;
      }
      const events: DpiEvent[] = [];
      const rejected: SensorRun["rejected"] = [];
      for (const line of stdout.split("\n")) {
        if (!line) continue;
        const result = parseNdpiRecord(line);
        if (result.ok) events.push(result.event);
        else rejected.push({ line, reason: `${result.reason}: ${result.detail}` });
      }
      resolve({ events, rejected });
    });
  });
}
