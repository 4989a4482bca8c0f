import { readdirSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";

const TESTDATA = join(__dirname, "..", "..", "..", "..", "shared", "testdata", "suricata");

let lines: string[] | undefined;

/** Every line of the real EVE samples in the testdata. */
function testdataLines(): string[] {
  lines ??= readdirSync(TESTDATA)
    .filter((f) => f.endsWith(".eve.json"))
    .sort()
    .flatMap((f) => readFileSync(join(TESTDATA, f), "utf8").split("\n"));
  return lines;
}

function first(test: (line: string) => boolean, what: string): Record<string, unknown> {
  const line = testdataLines().find(test);
  if (!line) throw new Error(`no ${what} in the testdata`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** A real EVE alert of the given Suricata severity from the testdata, moved onto another flow and to now. */
export function eveAlert(severity: number, src: string, dst: string): string {
  const record = first(
    (l) => l.includes('"event_type":"alert"') && l.includes(`"severity":${severity}`),
    `severity ${severity} alert`,
  );
  return `${JSON.stringify({ ...record, timestamp: new Date().toISOString(), src_ip: src, dest_ip: dst })}\n`;
}

export interface EveFlowRef {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** @default "TCP" */
  readonly proto?: "TCP" | "UDP";
}

function moved(record: Record<string, unknown>, flow: EveFlowRef): Record<string, unknown> {
  return {
    ...record,
    timestamp: new Date().toISOString(),
    src_ip: flow.src,
    src_port: flow.sport,
    dest_ip: flow.dst,
    dest_port: flow.dport,
    proto: flow.proto ?? "TCP",
  };
}

/** A real EVE flow record from the testdata, moved onto another flow, naming `appProto` as Suricata's app-layer. */
export function eveFlow(appProto: string, flow: EveFlowRef): string {
  const record = first(
    (l) => l.includes('"event_type":"flow"') && l.includes('"proto":"TCP"'),
    "TCP flow record",
  );
  return `${JSON.stringify({ ...moved(record, flow), app_proto: appProto })}\n`;
}

/** A real app-layer EVE anomaly from the testdata, moved onto another flow. */
export function eveAnomaly(flow: EveFlowRef): string {
  const record = first(
    (l) => l.includes('"event_type":"anomaly"') && l.includes('"type":"applayer"'),
    "app-layer anomaly",
  );
  return `${JSON.stringify(moved(record, flow))}\n`;
}

/** Connects to an agent's EVE socket as Suricata's `unix_stream` output does. */
export async function eveWriter(path: string): Promise<Socket> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}
