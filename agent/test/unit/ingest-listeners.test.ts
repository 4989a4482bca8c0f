import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { parseLines, parseSuricataEve } from "../../../sdk/events";
import { eveSocketSource, nprobeTcpSource, type StreamListenerSource } from "../../src/ingest";
import { collectingSink, sleep, TESTDATA, tempDir, waitFor } from "./ingest-harness";

const dirs: { remove(): void }[] = [];
const sources: StreamListenerSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) d.remove();
});

// A writer in its own process, as Suricata is: connects to the socket, writes the file, closes.
const WRITER = `
const net = require("node:net");
const fs = require("node:fs");
const [path, file] = process.argv.slice(1);
const socket = net.connect(path, () => socket.end(fs.readFileSync(file)));
socket.on("error", (error) => { console.error(error.message); process.exit(1); });
`;

function writeFromProcess(socketPath: string, file: string): Promise<number | null> {
  const child = spawn(process.execPath, ["-e", WRITER, socketPath, file], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

describe("Suricata EVE over a unix stream socket", () => {
  it("takes every line of the real samples from writers in other processes, connection after connection", async () => {
    const temp = tempDir("sock");
    dirs.push(temp);
    const path = join(temp.dir, "eve.sock");
    const { sink, events } = collectingSink();
    const source = eveSocketSource({ name: "suricata-eve-socket", path, sink, mode: 0o660 });
    sources.push(source);
    await source.start();
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o660);

    const files = ["fhassanabad-wrccdc-2018-alerts.eve.json", "elastic-integrations-test-eve-small.eve.json"];
    const expected = [];
    for (const file of files) {
      // Suricata reconnects after a restart: each file is a new connection.
      expect(await writeFromProcess(path, join(TESTDATA, "suricata", file))).toBe(0);
      const text = readFileSync(join(TESTDATA, "suricata", file), "utf8");
      expected.push(...parseLines(text, parseSuricataEve).results.flatMap((r) => (r.ok ? [r.event] : [])));
      await waitFor(`${file}`, () => events.length === expected.length);
    }
    expect(events).toEqual(expected);
    expect(source.stats()).toMatchObject({
      connections: 2,
      lines: { parsed: 218, rejected: { "no-flow": 1 } },
      events: 218,
    });
    await source.stop();
    sources.pop();
    expect(existsSync(path)).toBe(false);
  });

  it("replaces a stale socket left by a crash, but refuses to remove anything else", async () => {
    const temp = tempDir("sock2");
    dirs.push(temp);
    const path = join(temp.dir, "eve.sock");
    // A crashed agent leaves its socket file behind: a listener killed with SIGKILL.
    const crashed = spawn(
      process.execPath,
      ["-e", `require("node:net").createServer().listen(process.argv[1], () => console.log("up"))`, path],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => crashed.stdout.once("data", () => resolve()));
    crashed.kill("SIGKILL");
    await new Promise<void>((resolve) => crashed.once("exit", () => resolve()));
    expect(statSync(path).isSocket()).toBe(true);
    const { sink, events } = collectingSink();
    const second = eveSocketSource({ name: "b", path, sink });
    sources.push(second);
    await second.start();
    expect(
      await writeFromProcess(path, join(TESTDATA, "suricata", "elastic-integrations-test-eve-6-0.eve.json")),
    ).toBe(0);
    await waitFor("3 events", () => events.length === 3);

    const notSocket = join(temp.dir, "eve.json");
    writeFileSync(notSocket, "{}\n");
    const third = eveSocketSource({ name: "c", path: notSocket, sink });
    await expect(third.start()).rejects.toThrow(/exists and is not a socket/);
  });
});

/** nProbe flows as its JSON export writes them with --json-labels. */
function nprobeFlow(n: number): string {
  return JSON.stringify({
    IPV4_SRC_ADDR: "192.168.1.178",
    IPV4_DST_ADDR: "144.195.73.154",
    L4_SRC_PORT: 50000 + n,
    L4_DST_PORT: 443,
    PROTOCOL: 6,
    IN_PKTS: 12,
    IN_BYTES: 3043,
    OUT_PKTS: 8,
    OUT_BYTES: 5520,
    FIRST_SWITCHED: 1642965458,
    LAST_SWITCHED: 1642965459,
    L7_PROTO: "91.189",
    L7_PROTO_NAME: "TLS.Zoom",
    TLS_SERVER_NAME: "zoomsjccv154mmr.sjc.zoom.us",
  });
}

describe("nProbe JSON over TCP", () => {
  it("keeps each connection's flows in order and counts what it rejects", async () => {
    const { sink, events } = collectingSink();
    const source = nprobeTcpSource({ name: "nprobe", host: "127.0.0.1", port: 0, sink });
    sources.push(source);
    await source.start();
    const port = source.port as number;
    const send = async (first: number, count: number, extra = "") => {
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      for (let i = first; i < first + count; i++) {
        socket.write(`${nprobeFlow(i)}\n`);
        if (i % 10 === 0) await sleep(1);
      }
      await new Promise<void>((resolve) => socket.end(extra, () => resolve()));
    };
    await Promise.all([send(0, 200, "not json\n"), send(1000, 200, '{"IPV4_SRC_ADDR":"10.0.0.1"}')]);
    await waitFor("400 flows", () => events.length === 400);
    await sleep(100);
    const ports = events.map((e) => e.flow.srcPort as number);
    expect(ports.filter((p) => p < 51000)).toEqual(Array.from({ length: 200 }, (_, i) => 50000 + i));
    expect(ports.filter((p) => p >= 51000)).toEqual(Array.from({ length: 200 }, (_, i) => 51000 + i));
    expect(events[0]).toMatchObject({
      engine: "nprobe",
      kind: "flow",
      application: { engineName: "TLS.Zoom", catalog: "zoom" },
      serverName: "zoomsjccv154mmr.sjc.zoom.us",
    });
    // The last line of the second connection had no newline: parsed at its close, and rejected.
    expect(source.stats()).toMatchObject({
      connections: 2,
      lines: { parsed: 400, rejected: { "not-json": 1, "no-flow": 1 } },
    });
  });
});
