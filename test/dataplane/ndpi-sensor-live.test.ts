// fos1-ndpi-sensor on a live interface: real nDPI test captures are replayed
// with tcpreplay into one end of a veth pair inside a network namespace made
// here (no link to the host), while the sensor captures on the other end.
import { execFileSync, spawn, type ChildProcessByStdio } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import {
  buildSensor,
  NDPI_PCAP_DIR,
  parseSensorOutput,
  readReaderFlows,
  SENSOR_BIN,
  sensorConversationKey,
  type SensorLine,
} from "../unit/ndpi-sensor-harness";

const suffix = String(process.pid % 100000);
const NETNS = `ns-ndpi-${suffix}`;
const REPLAY_IF = `nsrp${suffix}`;
const MIRROR_IF = `nsmn${suffix}`;
// Short enough that flows end by themselves soon after the replay, far longer
// than any gap between packets of a paced replay.
const IDLE_TIMEOUT_S = 3;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function inNetns(command: string, ...args: string[]): string {
  return execFileSync("ip", ["netns", "exec", NETNS, command, ...args], { encoding: "utf8", stdio: "pipe" });
}

function createLab(): void {
  ip("netns", "add", NETNS);
  // No IPv6 on the lab links: the kernel's own solicitations would be extra flows.
  inNetns("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
  inNetns("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1");
  ip("-n", NETNS, "link", "add", REPLAY_IF, "type", "veth", "peer", "name", MIRROR_IF);
  for (const dev of [REPLAY_IF, MIRROR_IF]) {
    // The captures hold offloaded segments up to ~18 KB; a 1500 MTU would refuse them.
    ip("-n", NETNS, "link", "set", dev, "mtu", "65000", "up");
  }
}

function destroyLab(): void {
  try {
    ip("netns", "del", NETNS);
  } catch {
    // Already gone: nothing left to clean.
  }
}

interface LiveSensor {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: string[];
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
}

function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

const openSensors: LiveSensor[] = [];

async function startSensor(): Promise<LiveSensor> {
  const child = spawn(
    "ip",
    ["netns", "exec", NETNS, SENSOR_BIN, "-i", MIRROR_IF, "--idle-timeout", String(IDLE_TIMEOUT_S)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  createInterface({ input: child.stderr }).on("line", (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const sensor = { child, lines, stderr, exited };
  // Registered before waiting, so a sensor that never comes up is still stopped.
  openSensors.push(sensor);
  await waitFor("the sensor to start capturing", () => stderr.some((l) => l.includes("capturing on")), 10000);
  return sensor;
}

async function stopSensor(sensor: LiveSensor): Promise<number | null> {
  if (sensor.child.exitCode === null) sensor.child.kill("SIGTERM");
  return sensor.exited;
}

// Paced rather than --topspeed: at a 65000 MTU each capture ring slot holds a
// 64 KiB frame, and a microsecond burst of a thousand frames would overrun it.
const REPLAY_PPS = "4000";

function replay(pcap: string): void {
  inNetns("tcpreplay", `--intf1=${REPLAY_IF}`, `--pps=${REPLAY_PPS}`, join(NDPI_PCAP_DIR, pcap));
}

beforeAll(() => {
  buildSensor();
  destroyLab();
  createLab();
});

afterEach(async () => {
  await Promise.all(openSensors.splice(0).map(stopSensor));
});

afterAll(() => {
  destroyLab();
});

describe("fos1-ndpi-sensor on a live mirror interface", () => {
  it.each(["whatsapp_login_chat.pcap", "webex.pcap"])(
    "%s replayed on the wire: every flow named as ndpiReader names the capture, streamed as it happens",
    async (pcap) => {
      const sensor = await startSensor();
      const expected = readReaderFlows(pcap);

      replay(pcap);
      // Classified lines arrive while the sensor runs, before any flow has ended.
      await waitFor("classified lines", () => sensor.lines.some((l) => l.includes('"classified"')), 5000);
      // Then every flow ends on its own through the idle timer: no packet, no signal needed.
      await waitFor(
        `${expected.length} end lines`,
        () => sensor.lines.filter((l) => l.includes('"event":"end"')).length >= expected.length,
        (IDLE_TIMEOUT_S + 10) * 1000,
      );
      const endedBeforeStop = sensor.lines.length;

      expect(await stopSensor(sensor)).toBe(0);
      expect(sensor.lines.length).toBe(endedBeforeStop);
      expect(sensor.stderr.join("\n")).toMatch(/kernel_dropped=0/);

      const lines = parseSensorOutput(sensor.lines.join("\n"));
      const ends = lines.filter((line: SensorLine) => line.event === "end");
      const seen = new Map(
        ends.map((line) => [
          sensorConversationKey(line),
          { app: line.app, packets: line.c2s_packets + line.s2c_packets },
        ]),
      );
      expect(ends.length).toBe(expected.length);
      expect([...seen.keys()].sort()).toEqual(expected.map((flow) => flow.key).sort());
      for (const flow of expected) {
        expect({ key: flow.key, ...seen.get(flow.key) }).toEqual({
          key: flow.key,
          app: flow.app,
          packets: flow.packets,
        });
      }
      // Each flow's classified line came before its end line.
      for (const end of ends) {
        const classified = lines.findIndex((l) => l.flow_id === end.flow_id && l.event === "classified");
        expect(classified).toBeGreaterThanOrEqual(0);
        expect(classified).toBeLessThan(lines.indexOf(end));
      }
    },
    60000,
  );

  it("refuses an interface that does not exist, naming it", async () => {
    let status = 0;
    let stderr = "";
    try {
      inNetns(SENSOR_BIN, "-i", "nsnosuchif0");
    } catch (err) {
      const failure = err as { status: number; stderr: string };
      status = failure.status;
      stderr = failure.stderr;
    }
    expect(status).toBe(1);
    expect(stderr).toContain("nsnosuchif0");
  });
});
