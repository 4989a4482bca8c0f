import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { startDetached } from "./processes";

const run = promisify(execFile);

/** Headers only: enough for addresses, ports and DSCP, small enough for a minute of 100 Mbit/s. */
const SNAPLEN = "128";

/** A packet capture kept running in a lab namespace (packet-buffered, so `lab report` reads it while it grows). */
export function startCapture(ns: string, dev: string, file: string, log: string): number {
  return startDetached("tcpdump", ["-n", "-U", "-s", SNAPLEN, "-i", dev, "-w", file, "ip"], { ns, log });
}

/** What one capture point saw of one flow, upstream direction first. */
export interface WireFlow {
  /** Packets from the flow's initiator side, and the DSCP of the last of them. */
  readonly packets: number;
  readonly dscp: number;
  readonly dscps: readonly number[];
  /** Packets in the other direction. */
  readonly replies: number;
}

const PROTOCOLS: Record<string, string> = { "1": "icmp", "6": "tcp", "17": "udp" };

/** `udp 10.10.1.10:5060 -> 198.18.0.10:5060` as flowLabel writes it (IPv4). */
function label(p: string, src: string, sport: string, dst: string, dport: string): string {
  return `${PROTOCOLS[p] ?? p} ${src}:${sport || 0} -> ${dst}:${dport || 0}`;
}

/**
 * Every IPv4 flow of a capture file, keyed by its label in the direction of
 * its packets; the reply direction is found under the reversed label. A
 * missing file (a capture that never started) reads as no packets.
 */
export async function readCapture(file: string): Promise<Map<string, WireFlow>> {
  const flows = new Map<string, { packets: number; dscp: number; dscps: Set<number>; replies: number }>();
  if (!existsSync(file)) return new Map();
  const { stdout } = await run(
    "tshark",
    [
      "-n",
      "-r",
      file,
      "-T",
      "fields",
      "-E",
      "separator=,",
      "-e",
      "ip.proto",
      "-e",
      "ip.src",
      "-e",
      "tcp.srcport",
      "-e",
      "udp.srcport",
      "-e",
      "ip.dst",
      "-e",
      "tcp.dstport",
      "-e",
      "udp.dstport",
      "-e",
      "ip.dsfield.dscp",
      "ip",
    ],
    { maxBuffer: 1 << 30 },
  );
  for (const line of stdout.split("\n")) {
    const [p, src, tsport, usport, dst, tdport, udport, dscp] = line.split(",");
    if (!p || !src || !dst) continue;
    const key = label(
      p.split(";")[0],
      src.split(";")[0],
      tsport || usport,
      dst.split(";")[0],
      tdport || udport,
    );
    const f = flows.get(key) ?? { packets: 0, dscp: 0, dscps: new Set<number>(), replies: 0 };
    f.packets += 1;
    f.dscp = Number(dscp?.split(";")[0] ?? 0);
    f.dscps.add(f.dscp);
    flows.set(key, f);
  }
  const out = new Map<string, WireFlow>();
  for (const [key, f] of flows) {
    const reversed = reverseLabel(key);
    out.set(key, {
      packets: f.packets,
      dscp: f.dscp,
      dscps: [...f.dscps].sort((a, b) => a - b),
      replies: flows.get(reversed)?.packets ?? 0,
    });
  }
  return out;
}

/** `tcp a:1 -> b:2` -> `tcp b:2 -> a:1` */
export function reverseLabel(key: string): string {
  const m = /^(\S+) (\S+) -> (\S+)$/.exec(key);
  return m ? `${m[1]} ${m[3]} -> ${m[2]}` : key;
}
