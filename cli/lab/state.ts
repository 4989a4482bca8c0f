import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/** One replayed capture: which file, which flows it holds (as the sensor saw them), and which passes sent it. */
export const replayedCapture = z.strictObject({
  name: z.string(),
  /** The capture's own client address, replaced by the lab host's. */
  originalClient: z.string(),
  flows: z.array(
    z.strictObject({ protocol: z.string(), srcPort: z.number(), dstIp: z.string(), dstPort: z.number() }),
  ),
});
export type ReplayedCapture = z.infer<typeof replayedCapture>;

/** A class's band on one uplink and what the rate run measured in it (tc class byte counters). */
export const measuredClass = z.strictObject({
  class: z.string(),
  uplink: z.string(),
  classid: z.string(),
  /** The DSCP the QoS policy gives the class. */
  dscp: z.number(),
  minBps: z.number(),
  maxBps: z.number(),
  /** Every class driven at once: each should get at least its min. */
  measuredBps: z.number(),
  /** The class driven alone: it may borrow up to its max, never past it. */
  aloneBps: z.number(),
  /** What drove the class during the run: `zoom2.pcap looped at 80 Mbit/s`, `iperf3`. */
  driver: z.string(),
});
export type MeasuredClass = z.infer<typeof measuredClass>;

/**
 * What `lab up` leaves for `lab report` and `lab down`: every process group,
 * mount and file it made, and the agent's endpoint. Written as soon as each
 * piece exists, so `lab down` after a failed `up` still finds it.
 */
export const labState = z.strictObject({
  prefix: z.string(),
  dir: z.string(),
  namespaces: z.array(z.string()),
  /** Process-group leaders started detached (agent, relay, captures); killed as groups. */
  processes: z.array(z.strictObject({ role: z.string(), pid: z.number().int().positive() })),
  bpffs: z.string().optional(),
  agent: z
    .strictObject({
      url: z.string(),
      tokenFile: z.string(),
      caFile: z.string(),
      socket: z.string(),
      log: z.string(),
    })
    .optional(),
  /** Uplink name -> its namespace and the wire capture file there. */
  wire: z.record(z.string(), z.strictObject({ ns: z.string(), file: z.string() })).default({}),
  mirrorCapture: z.string().optional(),
  /** LAN host name -> its namespace, IPv4 address, and whether the sensor selector picked it. */
  hosts: z
    .record(z.string(), z.strictObject({ ns: z.string(), address: z.string(), selected: z.boolean() }))
    .default({}),
  /** Host name -> its pass in the replay (learn, routed, unselected, guest). */
  passes: z.record(z.string(), z.string()).default({}),
  captures: z.array(replayedCapture).default([]),
  rates: z.array(measuredClass).default([]),
  startedAt: z.string(),
  upSeconds: z.number().optional(),
});
export type LabState = z.infer<typeof labState>;

const FILE = "state.json";

export function writeState(state: LabState): void {
  writeFileSync(join(state.dir, FILE), JSON.stringify(state, null, 2) + "\n");
}

/** The lab's state, or undefined when there is no state dir; a corrupt file is an error naming the field. */
export function readState(dir: string): LabState | undefined {
  const file = join(dir, FILE);
  if (!existsSync(file)) return undefined;
  const parsed = labState.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}
