import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { flowRef } from "../../sdk/decide";
import { classifyCapture } from "../sensor";
import type { ReplayedCapture } from "./state";

const run = promisify(execFile);

/**
 * The captures the lab replays, chosen for the applications the example
 * policies name: streaming (isp2 after learning), business apps (mpls after
 * learning), voip, bulk and web classes.
 */
export const LAB_CAPTURES = [
  "youtube_quic.pcap",
  "spotify_tcp.pcap",
  "netflix.pcap",
  "salesforce.pcap",
  "webex.pcap",
  "zoom2.pcap",
  "sip.pcap",
  "skype-conference-call.pcap",
  "bittorrent.pcap",
  "ftp.pcap",
  "http_auth.pcap",
  "443-curl.pcap",
] as const;

/** Packets per second of every replay: paced so neither the mirror's capture ring nor the sensor drops any. */
export const REPLAY_PPS = 1500;

/** A lab host as a replay source: its address and the two MACs of its LAN link. */
export interface ReplaySource {
  readonly host: string;
  readonly ns: string;
  readonly address: string;
  readonly mac: string;
  readonly routerMac: string;
}

/**
 * Keeps the client's half of a capture (the lab's servers do not replay the
 * other half: each uplink namespace plays the internet and stays silent to
 * replayed flows) and lists its flows as the nDPI sensor sees them. The
 * client is the address that initiates most flows.
 */
export async function prepareCapture(
  captureDir: string,
  name: string,
  outDir: string,
): Promise<ReplayedCapture> {
  const source = join(captureDir, name);
  const whole = await classifyCapture(source);
  const initiators = new Map<string, number>();
  for (const e of whole.events) {
    const ip = e.flow.srcIp;
    if (!ip.includes(":")) initiators.set(ip, (initiators.get(ip) ?? 0) + 1);
  }
  const [client] = [...initiators].sort((a, b) => b[1] - a[1])[0] ?? [];
  if (!client) throw new Error(`lab: ${name}: no IPv4 flow to replay`);
  const half = join(outDir, `${name}.half.pcap`);
  await run("tcpdump", [
    "-r",
    source,
    "-w",
    half,
    `ip and src host ${client} and not dst net 224.0.0.0/4 and not dst host 255.255.255.255`,
  ]);
  const flows = new Map<string, ReplayedCapture["flows"][number]>();
  for (const e of (await classifyCapture(half)).events) {
    const f = flowRef(e);
    if (f.srcIp !== client) continue;
    flows.set(`${f.protocol}|${f.srcPort}|${f.dstIp}|${f.dstPort}`, {
      protocol: f.protocol,
      srcPort: f.srcPort,
      dstIp: f.dstIp,
      dstPort: f.dstPort,
    });
  }
  return { name, originalClient: client, flows: [...flows.values()] };
}

/** The client half rewritten to come from a lab host: its address and MAC, to the router's MAC; frames cut to the LAN's MTU. */
export async function rewriteFor(
  capture: ReplayedCapture,
  outDir: string,
  src: ReplaySource,
): Promise<string> {
  const out = join(outDir, `${capture.name}.${src.host}.pcap`);
  await run("tcprewrite", [
    `--infile=${join(outDir, `${capture.name}.half.pcap`)}`,
    `--outfile=${out}`,
    `--srcipmap=${capture.originalClient}/32:${src.address}/32`,
    `--enet-smac=${src.mac}`,
    `--enet-dmac=${src.routerMac}`,
    "--mtu=1500",
    "--mtu-trunc",
    "--fixcsum",
  ]);
  return out;
}

/** Sends a rewritten capture out of the host's LAN interface. */
export async function replay(src: ReplaySource, file: string): Promise<void> {
  await run("ip", ["netns", "exec", src.ns, "tcpreplay", "-q", `--pps=${REPLAY_PPS}`, "--intf1=eth0", file]);
}
