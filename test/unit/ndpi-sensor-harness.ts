// Runs fos1-ndpi-sensor and reads what it and ndpiReader 4.2 say about flows,
// for the sensor's unit, data-plane and benchmark scripts.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { join } from "node:path";
import { z } from "zod";

export const REPO_ROOT = join(__dirname, "..", "..");
export const SENSOR_DIR = join(REPO_ROOT, "sensor-images", "ndpi");
export const SENSOR_BIN = join(SENSOR_DIR, "build", "fos1-ndpi-sensor");
export const NDPI_TESTDATA = "/work/shared/testdata/ndpi";
export const NDPI_PCAP_DIR = join(NDPI_TESTDATA, "pcap");
export const NDPI_REFERENCE_DIR = join(NDPI_TESTDATA, "result-4.2", "testfmt");

/** Builds the sensor (make is incremental, so this also picks up source changes). */
export function buildSensor(): string {
  execFileSync("make", ["-s", "-C", SENSOR_DIR], { stdio: ["ignore", "ignore", "inherit"] });
  return SENSOR_BIN;
}

const counter = z.number().int().nonnegative();
const unixSeconds = z.number().positive();

/** One line of the sensor's output contract (keys in this order; `vlan` only when tagged). */
export const sensorLineSchema = z.strictObject({
  event: z.enum(["classified", "end"]),
  ts: unixSeconds,
  flow_id: z.number().int().positive(),
  ip_version: z.union([z.literal(4), z.literal(6)]),
  proto: z.string().regex(/^(TCP|UDP|ICMP|ICMPV6|\d{1,3})$/),
  vlan: z.number().int().min(0).max(4095).optional(),
  src_ip: z.string().min(2),
  src_port: z.number().int().min(0).max(65535),
  dst_ip: z.string().min(2),
  dst_port: z.number().int().min(0).max(65535),
  app: z.string().min(1),
  master: z.string().min(1),
  app_name: z.string().min(1),
  category: z.string().min(1),
  confidence: z.string().min(1),
  host: z.string(),
  c2s_packets: counter,
  c2s_bytes: counter,
  s2c_packets: counter,
  s2c_bytes: counter,
  first_seen: unixSeconds,
  last_seen: unixSeconds,
  risk: z.array(z.string().min(1)),
});
export type SensorLine = z.infer<typeof sensorLineSchema>;
export const SENSOR_KEY_ORDER = Object.keys(sensorLineSchema.shape);

/** Parses sensor stdout; throws with the line number, field path and reason of the first bad line. */
export function parseSensorOutput(stdout: string): SensorLine[] {
  return stdout
    .split("\n")
    .filter((text) => text.length > 0)
    .map((text, index) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new Error(`line ${index + 1}: not JSON (${(err as Error).message}): ${text}`);
      }
      const parsed = sensorLineSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`line ${index + 1}: ${issue.path.join(".") || "(line)"}: ${issue.message}: ${text}`);
      }
      const keys = Object.keys(value as object);
      const expected = SENSOR_KEY_ORDER.filter((key) => keys.includes(key));
      if (keys.join(",") !== expected.join(",")) {
        throw new Error(`line ${index + 1}: keys out of order: ${keys.join(",")}`);
      }
      return parsed.data;
    });
}

export interface SensorRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runSensor(args: readonly string[]): SensorRun {
  const run = spawnSync(SENSOR_BIN, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Canonical text of an address, so `2001:db8:0:0::1` and `2001:db8::1` compare equal. */
export function canonicalIp(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const [head, tail = ""] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const middle = ip.includes("::") ? Array(8 - left.length - right.length).fill("0") : [];
  return [...left, ...middle, ...right].map((group) => parseInt(group, 16).toString(16)).join(":");
}

/** Direction-free identity of a conversation: L4 protocol + unordered endpoints (+ VLAN). */
export function conversationKey(
  proto: string,
  a: readonly [string, number],
  b: readonly [string, number],
  vlan?: number,
): string {
  const ends = [a, b].map(([ip, port]) => `${canonicalIp(ip)}/${port}`).sort();
  return `${proto} ${ends.join(" ")}${vlan === undefined ? "" : ` vlan ${vlan}`}`;
}

export function sensorConversationKey(line: SensorLine): string {
  return conversationKey(line.proto, [line.src_ip, line.src_port], [line.dst_ip, line.dst_port], line.vlan);
}

/** What ndpiReader 4.2 prints about one flow in its `-w` test format. */
export interface ReaderFlow {
  readonly key: string;
  readonly app: string;
  readonly confidence: string;
  readonly category: string;
  readonly packets: number;
  readonly bytes: number;
  readonly risk: readonly string[];
}

// ndpiReader names a few IP protocols; the sensor contract prints their numbers.
const READER_PROTO_NUMBERS: Readonly<Record<string, string>> = { IGMP: "2", VRRP: "112" };

const readerFlowLine =
  /^\t\d+\t(\S+) (\S+) (?:<->|->) (\S+) (?:\[VLAN: (\d+)\])?\[proto: [^/\]]+\/([^\]]+)\].*?\[Confidence: ([^\]]+)\](?:\[cat: ([^/\]]+)\/\d+\])?\[(\d+) pkts\/(\d+) bytes (?:<->|->) (\d+) pkts\/(\d+) bytes\]/;

function readerEndpoint(text: string): [string, number] {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(text);
  if (!match) throw new Error(`ndpiReader endpoint not understood: ${text}`);
  return [match[1], Number(match[2])];
}

/** Parses the flow lines of an ndpiReader `-v 2 -w` file; other lines (totals, JA3 stats) are skipped. */
export function parseReaderFlows(text: string): ReaderFlow[] {
  return text
    .split("\n")
    .filter((line) => /^\t\d+\t\S+ \S+ (?:<->|->) /.test(line))
    .map((line) => {
      const m = readerFlowLine.exec(line);
      if (!m) throw new Error(`ndpiReader flow line not understood: ${line}`);
      const [, proto, a, b, vlan, app, confidence, category, p1, b1, p2, b2] = m;
      const riskField = /\[Risk: ((?:\*\* [^*]+ \*\*)+)\]/.exec(line);
      return {
        key: conversationKey(
          READER_PROTO_NUMBERS[proto] ?? proto,
          readerEndpoint(a),
          readerEndpoint(b),
          vlan === undefined ? undefined : Number(vlan),
        ),
        app,
        confidence,
        // ndpiReader omits the category of unknown flows; nDPI's name for it is "Unspecified".
        category: category ?? "Unspecified",
        packets: Number(p1) + Number(p2),
        bytes: Number(b1) + Number(b2),
        risk: riskField ? [...riskField[1].matchAll(/\*\* ([^*]+) \*\*/g)].map((r) => r[1]) : [],
      };
    });
}

export function readReaderFlows(pcapName: string): ReaderFlow[] {
  return parseReaderFlows(readFileSync(join(NDPI_REFERENCE_DIR, `${pcapName}.out`), "utf8"));
}
