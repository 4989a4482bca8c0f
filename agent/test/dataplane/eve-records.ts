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

/** A real EVE flow record from the testdata, moved onto a TCP flow, naming `appProto` as Suricata's app-layer. */
export function eveFlow(appProto: string, src: string, sport: number, dst: string, dport: number): string {
  const record = first(
    (l) => l.includes('"event_type":"flow"') && l.includes('"proto":"TCP"'),
    "TCP flow record",
  );
  return `${JSON.stringify({
    ...record,
    timestamp: new Date().toISOString(),
    src_ip: src,
    src_port: sport,
    dest_ip: dst,
    dest_port: dport,
    app_proto: appProto,
  })}\n`;
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
