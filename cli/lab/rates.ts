import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { NodeProgram, TcDevice } from "../../sdk/compile";
import type { NodePolicy } from "../../sdk/decide";
import type { MeasuredClass } from "./state";

const run = promisify(execFile);

/** The HTB tree the QoS program gave an uplink. */
export function tcDeviceOf(programs: readonly NodeProgram[], uplink: string): TcDevice | undefined {
  return programs.flatMap((p) => p.spec.tc).find((d) => d.uplink === uplink);
}

/**
 * Bytes sent per HTB class on a device, as the kernel counts them (tc has no
 * JSON output for classes: `class htb 1:10 ...` followed by ` Sent N bytes`).
 */
export async function classBytes(ns: string, device: string): Promise<Map<string, number>> {
  const { stdout } = await run("ip", ["netns", "exec", ns, "tc", "-s", "class", "show", "dev", device]);
  const bytes = new Map<string, number>();
  let handle: string | undefined;
  for (const line of stdout.split("\n")) {
    const head = /^class htb (\S+)/.exec(line);
    if (head) handle = head[1];
    const sent = /^\s*Sent (\d+) bytes/.exec(line);
    if (sent && handle) {
      bytes.set(handle, Number(sent[1]));
      handle = undefined;
    }
  }
  return bytes;
}

/**
 * Each leaf class's rate over a window: the byte counters' growth between two
 * snapshots. The band is the class's HTB rate (guaranteed) and ceil (max).
 */
export function ratesBetween(
  device: TcDevice,
  before: Map<string, number>,
  after: Map<string, number>,
  seconds: number,
  policy: NodePolicy,
): Omit<MeasuredClass, "aloneBps" | "driver">[] {
  const dscpOf = new Map([...policy.classes.values()].map((c) => [c.name, c.dscp]));
  return device.classes
    .filter((c) => c.name !== "root")
    .map((c) => ({
      class: c.name,
      uplink: device.uplink,
      classid: c.classid,
      dscp: dscpOf.get(c.name) ?? 0,
      minBps: c.rateBps,
      maxBps: c.ceilBps,
      measuredBps: Math.round((((after.get(c.classid) ?? 0) - (before.get(c.classid) ?? 0)) * 8) / seconds),
    }));
}
