import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ZeekLogDirSource, type EventSink } from "../../src/ingest";
import { collectingSink, sleep, TESTDATA, tempDir, waitFor } from "./ingest-harness";

const dirs: { remove(): void }[] = [];
const sources: ZeekLogDirSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) d.remove();
});

function setup(): { logs: string; state: string } {
  const temp = tempDir("zeek");
  dirs.push(temp);
  const logs = join(temp.dir, "logs");
  mkdirSync(logs);
  return { logs, state: join(temp.dir, "state") };
}

async function started(dir: string, stateDir: string, sink: EventSink): Promise<ZeekLogDirSource> {
  const source = new ZeekLogDirSource({ name: "zeek", dir, stateDir, sink, startAtEnd: false, pollMs: 50 });
  sources.push(source);
  await source.start();
  return source;
}

/** `zed-sample-data-wrccdc2018-dns.json` -> `dns`: the log the sample came from. */
const logOf = (file: string) =>
  file
    .replace(/\.json$/, "")
    .split("-")
    .pop() as string;

describe("ZeekLogDirSource on the real Zeek samples", () => {
  // Each sample as the live `<log>.log` of a Zeek log directory. Rejected on purpose, as
  // the parser's own tests say: inventories and certificates name no connection,
  // kerberos does not say its transport, one weird from the tunnel decoder has none.
  const expected: Record<string, { parsed: number; rejected: Record<string, number> }> = {
    "elastic-integrations-test-conn.json": { parsed: 18, rejected: {} },
    "rita-json_with_all_fields-conn.json": { parsed: 29, rejected: {} },
    "rita-json_with_all_fields-dns.json": { parsed: 34, rejected: {} },
    "rita-valid_json-http.json": { parsed: 300, rejected: {} },
    "zed-sample-data-wrccdc2018-dce_rpc.json": { parsed: 78, rejected: {} },
    "zed-sample-data-wrccdc2018-dns.json": { parsed: 300, rejected: {} },
    "zed-sample-data-wrccdc2018-dpd.json": { parsed: 77, rejected: {} },
    "zed-sample-data-wrccdc2018-ftp.json": { parsed: 93, rejected: {} },
    "zed-sample-data-wrccdc2018-kerberos.json": { parsed: 0, rejected: { "invalid-field": 11 } },
    "zed-sample-data-wrccdc2018-known_services.json": { parsed: 0, rejected: { "no-flow": 100 } },
    "zed-sample-data-wrccdc2018-modbus.json": { parsed: 100, rejected: {} },
    "zed-sample-data-wrccdc2018-notice.json": { parsed: 207, rejected: {} },
    "zed-sample-data-wrccdc2018-ntlm.json": { parsed: 100, rejected: {} },
    "zed-sample-data-wrccdc2018-ntp.json": { parsed: 100, rejected: {} },
    "zed-sample-data-wrccdc2018-rdp.json": { parsed: 100, rejected: {} },
    "zed-sample-data-wrccdc2018-smb_mapping.json": { parsed: 100, rejected: {} },
    "zed-sample-data-wrccdc2018-smtp.json": { parsed: 100, rejected: {} },
    "zed-sample-data-wrccdc2018-snmp.json": { parsed: 65, rejected: {} },
    "zed-sample-data-wrccdc2018-software.json": { parsed: 0, rejected: { "no-flow": 100 } },
    "zed-sample-data-wrccdc2018-ssh.json": { parsed: 22, rejected: {} },
    "zed-sample-data-wrccdc2018-ssl.json": { parsed: 300, rejected: {} },
    "zed-sample-data-wrccdc2018-weird.json": { parsed: 199, rejected: { "invalid-field": 1 } },
    "zed-sample-data-wrccdc2018-x509.json": { parsed: 0, rejected: { "no-flow": 100 } },
  };

  it("covers every Zeek sample", () => {
    expect(Object.keys(expected).sort()).toEqual(readdirSync(join(TESTDATA, "zeek")).sort());
  });

  it.each(Object.entries(expected))("%s: exact counts, every event of its log type", async (file, want) => {
    const { logs, state } = setup();
    const log = logOf(file);
    copyFileSync(join(TESTDATA, "zeek", file), join(logs, `${log}.log`));
    const { sink, events } = collectingSink();
    const source = await started(logs, state, sink);
    const lines = want.parsed + Object.values(want.rejected).reduce((a, b) => a + b, 0);
    await waitFor("every line", () => {
      const s = source.stats().lines;
      return s.parsed + Object.values(s.rejected).reduce((a, b) => a + b, 0) === lines;
    });
    await waitFor("the sink", () => events.length === want.parsed);
    const stats = source.stats();
    expect(stats.lines.parsed).toBe(want.parsed);
    expect(Object.fromEntries(Object.entries(stats.lines.rejected).filter(([, n]) => n > 0))).toEqual(
      want.rejected,
    );
    for (const event of events) expect(event.sourceType).toBe(log);
  });
});

/** A Zeek conn line numbered by its uid, so order, loss and duplicates show. */
function connLine(n: number): string {
  return JSON.stringify({
    ts: 1521911720.5 + n,
    uid: `C${n}`,
    "id.orig_h": "10.47.3.218",
    "id.orig_p": 40000 + (n % 20000),
    "id.resp_h": "10.128.0.210",
    "id.resp_p": 443,
    proto: "tcp",
    service: "ssl",
    conn_state: "SF",
  });
}

describe("ZeekLogDirSource follows rotation", () => {
  it("loses and repeats no line when Zeek rotates conn.log and dns.log appears, across a stop/restart", async () => {
    const { logs, state } = setup();
    const { sink, events } = collectingSink();
    const conn = join(logs, "conn.log");
    const total = 1500;
    let fd = openSync(conn, "a");
    let next = 0;
    const write = async (count: number) => {
      for (let i = 0; i < count && next < total; i++) writeSync(fd, `${connLine(next++)}\n`);
      await sleep(2);
    };
    // Zeek rotates by renaming the live log to a timestamped name and opening a new one.
    let rotation = 0;
    const rotate = () => {
      rotation++;
      renameSync(conn, join(logs, `conn.2018-03-24-17-${String(rotation).padStart(2, "0")}-00.log`));
      closeSync(fd);
      fd = openSync(conn, "a");
    };

    let source = await started(logs, state, sink);
    while (next < 400) await write(17);
    rotate();
    const dnsLine = JSON.stringify({
      ts: 1521911720.1,
      uid: "Cdns",
      "id.orig_h": "10.0.0.1",
      "id.orig_p": 5353,
      "id.resp_h": "10.0.0.53",
      "id.resp_p": 53,
      proto: "udp",
      query: "example.org",
      qtype_name: "A",
      answers: ["93.184.216.34"],
      TTLs: [60],
    });
    copyFileSync(join(TESTDATA, "zeek", "rita-json_with_all_fields-dns.json"), join(logs, "dns.log"));
    while (next < 800) await write(29);
    await source.stop();
    sources.splice(sources.indexOf(source), 1);
    while (next < 1000) await write(50);
    rotate();
    while (next < 1100) await write(50);
    source = await started(logs, state, sink);
    while (next < total) await write(13);
    closeSync(fd);
    const dnsFd = openSync(join(logs, "dns.log"), "a");
    writeSync(dnsFd, `${dnsLine}\n`);
    closeSync(dnsFd);

    const conns = () => events.filter((e) => e.sourceType === "conn");
    await waitFor(`${total} conn events`, () => conns().length >= total);
    await waitFor("the dns events", () => events.filter((e) => e.sourceType === "dns").length >= 35);
    await sleep(200);
    expect(conns().map((e) => Number(e.flow.flowId?.slice(1)))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
    const dns = events.filter((e) => e.sourceType === "dns");
    expect(dns).toHaveLength(35);
    expect(dns[34].dns?.answers).toEqual([{ data: "93.184.216.34", ttl: 60 }]);
  });
});
