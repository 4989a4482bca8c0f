// The sensor must name every flow of the nDPI test captures exactly as the
// installed ndpiReader 4.2 does (its `-q -t -w … -v 2` output, stored in the
// test data): same flows, application, confidence, category, risks, counters.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  buildSensor,
  NDPI_PCAP_DIR,
  parseSensorOutput,
  readReaderFlows,
  runSensor,
  sensorConversationKey,
  type SensorLine,
} from "./ndpi-sensor-harness";

// ndpiReader never expires a flow while reading a file, so the sensor's idle
// timeouts must outlast every capture for the flows to be the same flows.
const NO_IDLE_EXPIRY = ["--idle-timeout", "31536000"];

const pcaps = readdirSync(NDPI_PCAP_DIR).sort();

beforeAll(() => {
  buildSensor();
});

function endLines(lines: readonly SensorLine[]): SensorLine[] {
  return lines.filter((line) => line.event === "end");
}

describe("fos1-ndpi-sensor agrees with ndpiReader 4.2", () => {
  it("has the whole nDPI capture set to compare", () => {
    expect(pcaps.length).toBeGreaterThanOrEqual(20);
  });

  it.each(pcaps)("%s: every flow, as ndpiReader names it", (pcap) => {
    const run = runSensor(["-r", join(NDPI_PCAP_DIR, pcap), ...NO_IDLE_EXPIRY]);
    expect(run.stderr).toMatch(/packets=\d+/);
    expect(run.status).toBe(0);

    const sensor = new Map(
      endLines(parseSensorOutput(run.stdout)).map((line) => [
        sensorConversationKey(line),
        {
          app: line.app,
          confidence: line.confidence,
          category: line.category,
          packets: line.c2s_packets + line.s2c_packets,
          bytes: line.c2s_bytes + line.s2c_bytes,
          risk: line.risk,
        },
      ]),
    );
    const reader = new Map(readReaderFlows(pcap).map(({ key, ...flow }) => [key, flow]));

    expect(reader.size).toBeGreaterThan(0);
    expect([...sensor.keys()].sort()).toEqual([...reader.keys()].sort());
    for (const [key, expected] of reader) {
      expect({ key, ...sensor.get(key) }).toEqual({ key, ...expected });
    }
  });
});

describe("fos1-ndpi-sensor line protocol on the capture set", () => {
  it.each(pcaps)("%s: one classified then one end line per flow, with consistent fields", (pcap) => {
    const lines = parseSensorOutput(runSensor(["-r", join(NDPI_PCAP_DIR, pcap)]).stdout);
    const byFlow = new Map<number, SensorLine[]>();
    for (const line of lines) byFlow.set(line.flow_id, [...(byFlow.get(line.flow_id) ?? []), line]);

    expect(byFlow.size).toBeGreaterThan(0);
    for (const [flowId, [classified, end, ...rest]] of byFlow) {
      expect({ flowId, events: [classified?.event, end?.event], rest }).toEqual({
        flowId,
        events: ["classified", "end"],
        rest: [],
      });
      // Classification never changes after the classified line.
      expect(end.app).toBe(classified.app);
      expect(end.src_ip).toBe(classified.src_ip);
      expect(end.src_port).toBe(classified.src_port);
      expect(end.c2s_packets).toBeGreaterThanOrEqual(classified.c2s_packets);
      expect(end.s2c_packets).toBeGreaterThanOrEqual(classified.s2c_packets);
      expect(end.c2s_packets).toBeGreaterThan(0);
      expect(end.first_seen).toBeLessThanOrEqual(end.last_seen);
      expect(end.ts).toBeGreaterThanOrEqual(end.last_seen);
      expect(classified.ts).toBeGreaterThanOrEqual(classified.first_seen);
      expect(end.app).toBe(end.master === "Unknown" ? end.app_name : `${end.master}.${end.app_name}`);
    }
  });
});
