// The agent's nDPI sensor source on a live interface: fos1-ndpi-sensor runs as the
// source's child inside a network namespace made here (no link to the host), capturing
// on one end of a veth pair while real nDPI test captures are replayed into the other.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { NdpiSensorSource } from "../../src/ingest";
import { buildSensor, NDPI_PCAP_DIR, SENSOR_BIN } from "../../../test/unit/ndpi-sensor-harness";
import { collectingSink, sleep, waitFor } from "../unit/ingest-harness";

const suffix = String(process.pid % 100000);
const NETNS = `ig-ndpi-${suffix}`;
const REPLAY_IF = `igrp${suffix}`;
const MIRROR_IF = `igmn${suffix}`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function inNetns(command: string, ...args: string[]): void {
  execFileSync("ip", ["netns", "exec", NETNS, command, ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

function destroyLab(): void {
  try {
    ip("netns", "del", NETNS);
  } catch {
    // Not there: nothing to remove.
  }
}

let source: NdpiSensorSource | undefined;

beforeAll(() => {
  buildSensor();
  destroyLab();
  ip("netns", "add", NETNS);
  // No IPv6 on the lab link: the kernel's own solicitations would be extra flows.
  inNetns("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
  inNetns("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1");
  ip("-n", NETNS, "link", "add", REPLAY_IF, "type", "veth", "peer", "name", MIRROR_IF);
  // The captures hold offloaded segments larger than 1500 bytes.
  for (const dev of [REPLAY_IF, MIRROR_IF]) ip("-n", NETNS, "link", "set", dev, "mtu", "65000", "up");
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
});

afterAll(() => {
  destroyLab();
});

describe("NdpiSensorSource on a veth in a namespace", () => {
  it("delivers the applications nDPI names for replayed captures, and their flow ends on stop", async () => {
    const { sink, events } = collectingSink();
    source = new NdpiSensorSource({
      name: "ndpi",
      binary: SENSOR_BIN,
      iface: MIRROR_IF,
      args: ["--idle-timeout", "30"],
      launcher: ["ip", "netns", "exec", NETNS],
      sink,
    });
    await source.start();
    // The sensor opens its capture right after it starts; give it that moment.
    await sleep(1000);
    const pcaps = ["spotify_tcp.pcap", "salesforce.pcap", "zoom2.pcap", "http_auth.pcap"];
    for (const pcap of pcaps) {
      // Paced: a burst of 64 KiB frames would overrun the capture ring.
      inNetns("tcpreplay", `--intf1=${REPLAY_IF}`, "--pps=4000", join(NDPI_PCAP_DIR, pcap));
    }
    await waitFor(
      "a classification per flow",
      () => events.filter((e) => e.kind === "classification").length >= 7,
      15_000,
    );
    const classified = events.filter((e) => e.kind === "classification");
    expect(classified.map((e) => e.application?.engineName).sort()).toEqual([
      "HTTP",
      "Spotify",
      "TLS.Salesforce",
      "TLS.Zoom",
      "Zoom",
      "Zoom",
      "Zoom",
    ]);
    expect(classified.find((e) => e.application?.engineName === "Spotify")?.application?.catalog).toBe(
      "spotify",
    );
    expect(classified.find((e) => e.application?.engineName === "TLS.Salesforce")?.application?.catalog).toBe(
      "salesforce",
    );
    // The flows are still open (long idle timeout): stopping makes the sensor print their ends.
    await source.stop();
    source = undefined;
    expect(events.filter((e) => e.kind === "flow")).toHaveLength(7);
    expect(events.every((e) => e.engine === "ndpi")).toBe(true);
  });
});
