// Flow handling of fos1-ndpi-sensor beyond naming: link types, VLANs, idle
// timeouts, TCP close, the flow bound, the BPF filter, hostile input and
// clear errors. Captures are real nDPI test captures, re-framed where needed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  buildSensor,
  NDPI_PCAP_DIR,
  parseSensorOutput,
  runSensor,
  SENSOR_BIN,
  sensorConversationKey,
  type SensorLine,
} from "./ndpi-sensor-harness";

interface PcapRecord {
  readonly sec: number;
  readonly usec: number;
  readonly origLen: number;
  readonly data: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_IEEE802_11 = 105;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

/** Reads a classic little-endian microsecond pcap (the format of the nDPI test captures used here). */
function readPcap(path: string): PcapRecord[] {
  const buf = readFileSync(path);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap`);
  const records: PcapRecord[] = [];
  for (let off = 24; off + 16 <= buf.length;) {
    const inclLen = buf.readUInt32LE(off + 8);
    records.push({
      sec: buf.readUInt32LE(off),
      usec: buf.readUInt32LE(off + 4),
      origLen: buf.readUInt32LE(off + 12),
      data: buf.subarray(off + 16, off + 16 + inclLen),
    });
    off += 16 + inclLen;
  }
  return records;
}

function writePcap(path: string, linktype: number, records: readonly PcapRecord[]): string {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [header];
  for (const r of records) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(r.sec, 0);
    rec.writeUInt32LE(r.usec, 4);
    rec.writeUInt32LE(r.data.length, 8);
    rec.writeUInt32LE(r.origLen, 12);
    parts.push(rec, r.data);
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

function reframe(records: readonly PcapRecord[], frame: (eth: Buffer) => Buffer): PcapRecord[] {
  return records.map((r) => {
    const data = frame(r.data);
    return { ...r, data, origLen: r.origLen + data.length - r.data.length };
  });
}

/** Ethernet -> Linux cooked v1: packet type, ARPHRD_ETHER, address, then the ethertype. */
function toLinuxSll(eth: Buffer): Buffer {
  const sll = Buffer.alloc(16);
  sll.writeUInt16BE(0, 0);
  sll.writeUInt16BE(1, 2);
  sll.writeUInt16BE(6, 4);
  eth.copy(sll, 6, 6, 12);
  eth.copy(sll, 14, 12, 14);
  return Buffer.concat([sll, eth.subarray(14)]);
}

/** Ethernet -> Linux cooked v2 (what `tcpdump -i any` writes on current libpcap). */
function toLinuxSll2(eth: Buffer): Buffer {
  const sll2 = Buffer.alloc(20);
  eth.copy(sll2, 0, 12, 14);
  sll2.writeUInt32BE(3, 4);
  sll2.writeUInt16BE(1, 8);
  sll2.writeUInt8(0, 10);
  sll2.writeUInt8(6, 11);
  eth.copy(sll2, 12, 6, 12);
  return Buffer.concat([sll2, eth.subarray(14)]);
}

function withVlanTags(eth: Buffer, tags: readonly (readonly [number, number])[]): Buffer {
  const tagBytes = tags.map(([tpid, vid]) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(tpid, 0);
    tag.writeUInt16BE(vid, 2);
    return tag;
  });
  return Buffer.concat([eth.subarray(0, 12), ...tagBytes, eth.subarray(12)]);
}

interface FlowSummary {
  readonly app: string;
  readonly packets: number;
}

function summarise(lines: readonly SensorLine[], dropVlan = false): Map<string, FlowSummary> {
  return new Map(
    lines
      .filter((line) => line.event === "end")
      .map((line) => [
        sensorConversationKey(dropVlan ? { ...line, vlan: undefined } : line),
        { app: line.app, packets: line.c2s_packets + line.s2c_packets },
      ]),
  );
}

function sensorLines(args: readonly string[]): SensorLine[] {
  const run = runSensor(args);
  expect(run.stderr).not.toMatch(/error|failed/i);
  expect(run.status).toBe(0);
  return parseSensorOutput(run.stdout);
}

function statsCounter(stderr: string, name: string): number {
  const match = new RegExp(`\\b${name}=(\\d+)`).exec(stderr);
  if (!match) throw new Error(`no ${name}= in sensor summary: ${stderr}`);
  return Number(match[1]);
}

const pcap = (name: string): string => join(NDPI_PCAP_DIR, name);
const NO_IDLE_EXPIRY = ["--idle-timeout", "31536000"];

let work: string;

beforeAll(() => {
  buildSensor();
  work = mkdtempSync(join(tmpdir(), "ns-sensor-"));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("link layers", () => {
  const source = "whatsapp_login_chat.pcap"; // IPv4 and IPv6, TCP and UDP
  const ethernet = (): Map<string, FlowSummary> => summarise(sensorLines(["-r", pcap(source)]));

  it.each([
    ["Linux cooked v1 (SLL)", LINKTYPE_LINUX_SLL, toLinuxSll],
    ["Linux cooked v2 (SLL2)", LINKTYPE_LINUX_SLL2, toLinuxSll2],
  ])("%s frames give the same flows and applications as Ethernet", (_name, linktype, frame) => {
    const file = writePcap(
      join(work, `sll-${linktype}.pcap`),
      linktype,
      reframe(readPcap(pcap(source)), frame),
    );
    const cooked = summarise(sensorLines(["-r", file]));
    expect(cooked.size).toBe(9);
    expect(cooked).toEqual(ethernet());
  });

  it("keys flows by the innermost 802.1Q tag, also under an 802.1ad outer tag", () => {
    const records = readPcap(pcap(source));
    const tagged = [
      ...reframe(records, (eth) => withVlanTags(eth, [[0x8100, 10]])),
      ...reframe(records, (eth) =>
        withVlanTags(eth, [
          [0x88a8, 7],
          [0x8100, 20],
        ]),
      ),
    ];
    const lines = sensorLines(["-r", writePcap(join(work, "vlan.pcap"), LINKTYPE_ETHERNET, tagged)]);
    const untagged = [...ethernet().keys()].sort();

    for (const vlan of [10, 20]) {
      const onVlan = lines.filter((line) => line.vlan === vlan);
      expect([...summarise(onVlan, true).keys()].sort()).toEqual(untagged);
      expect(summarise(onVlan, true).get(untagged[0])?.packets).toBe(ethernet().get(untagged[0])?.packets);
    }
    expect(lines.every((line) => line.vlan === 10 || line.vlan === 20)).toBe(true);
    expect(sensorLines(["-r", pcap(source)]).some((line) => "vlan" in line)).toBe(false);
  });

  it("refuses a link type it cannot decode, naming it", () => {
    const file = writePcap(join(work, "wifi.pcap"), LINKTYPE_IEEE802_11, readPcap(pcap(source)).slice(0, 3));
    const run = runSensor(["-r", file]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/unsupported link type .*\(105\)/);
  });
});

describe("flow lifetime", () => {
  // sip.pcap: one SIP conversation with silences of several minutes.
  const sipKey = "UDP 192.168.1.2/5060 212.242.33.35/5060";

  it("ends a UDP flow after its idle timeout and opens a new one on the next packet", () => {
    const pieces = parseSensorOutput(runSensor(["-r", pcap("sip.pcap"), "--udp-idle-timeout", "120"]).stdout)
      .filter((line) => line.event === "end" && sensorConversationKey(line) === sipKey)
      .sort((a, b) => a.first_seen - b.first_seen);

    expect(pieces.length).toBe(3);
    expect(new Set(pieces.map((p) => p.flow_id)).size).toBe(3);
    expect(pieces.every((p) => p.app === "SIP")).toBe(true);
    for (let i = 0; i + 1 < pieces.length; i++) {
      expect(pieces[i + 1].first_seen - pieces[i].last_seen).toBeGreaterThan(120);
      // Ended by the first packet after the timeout, stamped with that packet's time.
      expect(pieces[i].ts).toBeGreaterThan(pieces[i].last_seen + 120);
      expect(pieces[i].ts).toBeLessThanOrEqual(pieces[i + 1].first_seen);
    }
    expect(pieces.reduce((n, p) => n + p.c2s_packets + p.s2c_packets, 0)).toBe(84);
  });

  it("keeps the conversation one flow when the timeout outlasts its silences", () => {
    const lines = sensorLines(["-r", pcap("sip.pcap"), "--udp-idle-timeout", "3600"]);
    const sip = lines.filter((line) => line.event === "end" && sensorConversationKey(line) === sipKey);
    expect(sip.map((line) => line.c2s_packets + line.s2c_packets)).toEqual([84]);
  });

  it("ends a TCP flow closed by FIN/RST before the capture ends, long before its idle timeout", () => {
    const lines = sensorLines(["-r", pcap("webex.pcap")]);
    const captureEnd = Math.max(...lines.map((line) => line.ts));
    const closedEarly = lines.filter(
      (line) => line.event === "end" && line.proto === "TCP" && line.ts < captureEnd,
    );
    expect(closedEarly.length).toBeGreaterThan(0);
    for (const line of closedEarly) {
      // Closed flows linger 2 s for late ACKs, far below the 300 s TCP idle timeout.
      expect(line.ts - line.last_seen).toBeGreaterThan(2);
      expect(line.ts - line.last_seen).toBeLessThan(300);
    }
  });

  describe("after a TCP close (http_auth.pcap: SYN ... FIN both ways, final ACK)", () => {
    const connection = readPcap(pcap("http_auth.pcap"));
    const last = connection[connection.length - 1];
    const later = (r: PcapRecord, seconds: number): PcapRecord => {
      const usec = r.usec + Math.round(seconds * 1e6);
      return { ...r, sec: r.sec + Math.floor(usec / 1e6), usec: usec % 1e6 };
    };
    const endsOf = (records: readonly PcapRecord[], name: string): SensorLine[] =>
      sensorLines(["-r", writePcap(join(work, name), LINKTYPE_ETHERNET, records)]).filter(
        (line) => line.event === "end",
      );
    const packets = (line: SensorLine): number => line.c2s_packets + line.s2c_packets;
    const shift = last.sec - connection[0].sec + 1;

    it("a late packet within the linger still belongs to the closed flow", () => {
      const ends = endsOf([...connection, later(last, 0.5)], "late-ack.pcap");
      expect(ends.map(packets)).toEqual([34]);
    });

    it("a packet after the linger opens a new flow", () => {
      const ends = endsOf([...connection, later(last, 3)], "after-linger.pcap");
      expect(ends.map(packets)).toEqual([33, 1]);
      expect(ends[0].ts).toBeCloseTo(last.sec + last.usec / 1e6 + 3, 3);
    });

    it("a new SYN on the same 5-tuple during the linger is a new connection", () => {
      const reopened = connection.map((r) => later(r, shift));
      const ends = endsOf([...connection, ...reopened], "reopen.pcap");
      expect(ends.map(packets)).toEqual([33, 33]);
      expect(ends.map((line) => line.app)).toEqual(["HTTP", "HTTP"]);
      expect(ends[1].first_seen).toBeCloseTo(reopened[0].sec + reopened[0].usec / 1e6, 3);
    });
  });

  it("never holds more flows than --max-flows: the least recently seen is ended first", () => {
    const run = runSensor(["-r", pcap("netflix.pcap"), "--max-flows", "4", ...NO_IDLE_EXPIRY]);
    expect(run.status).toBe(0);
    expect(statsCounter(run.stderr, "evicted")).toBeGreaterThan(0);

    const open = new Set<number>();
    let widest = 0;
    for (const line of parseSensorOutput(run.stdout)) {
      if (line.event === "classified") open.add(line.flow_id);
      else open.delete(line.flow_id);
      widest = Math.max(widest, open.size);
    }
    expect(widest).toBeGreaterThan(1);
    expect(widest).toBeLessThanOrEqual(4);
    expect(open.size).toBe(0);
  });
});

describe("capture options", () => {
  it("--bpf-filter restricts what is classified", () => {
    const all = summarise(sensorLines(["-r", pcap("dns_fragmented.pcap")]));
    const tcp = summarise(sensorLines(["-r", pcap("dns_fragmented.pcap"), "--bpf-filter", "tcp"]));
    expect(tcp.size).toBeGreaterThan(0);
    expect(tcp.size).toBeLessThan(all.size);
    for (const [key, flow] of tcp) {
      expect(key.startsWith("TCP ")).toBe(true);
      expect(flow).toEqual(all.get(key));
    }
  });
});

describe("hostile input", () => {
  it("survives truncated and corrupted frames and still prints only valid lines", () => {
    const real = readPcap(pcap("whatsapp_login_chat.pcap")).concat(readPcap(pcap("dns_fragmented.pcap")));
    const mutated = fc.sample(
      fc.record({
        index: fc.nat({ max: real.length - 1 }),
        cut: fc.nat({ max: 120 }),
        flips: fc.array(fc.tuple(fc.nat({ max: 119 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      }),
      { numRuns: 3000, seed: 20240601 },
    );
    const records = mutated.map(({ index, cut, flips }, i) => {
      const data = Buffer.from(real[index].data.subarray(0, Math.max(cut, 1)));
      for (const [at, value] of flips) if (at < data.length) data[at] = value;
      return { sec: 1700000000 + Math.floor(i / 100), usec: (i % 100) * 10000, origLen: data.length, data };
    });
    const run = runSensor(["-r", writePcap(join(work, "fuzz.pcap"), LINKTYPE_ETHERNET, records)]);

    expect(run.status).toBe(0);
    expect(statsCounter(run.stderr, "packets")).toBe(3000);
    expect(statsCounter(run.stderr, "truncated")).toBeGreaterThan(0);
    expect(parseSensorOutput(run.stdout).length).toBeGreaterThan(0);
  });
});

describe("errors", () => {
  it.each([
    [[], /give exactly one of -r PCAP or -i IFACE/],
    [["-r", "a.pcap", "-i", "eth0"], /give exactly one of -r PCAP or -i IFACE/],
    [["-r", "a.pcap", "--max-flows", "0"], /--max-flows: expected an integer from 1 to 16777216, got '0'/],
    [["-r", "a.pcap", "--max-flows", "-5"], /--max-flows: expected an integer/],
    [["-r", "a.pcap", "--idle-timeout", "soon"], /--idle-timeout: expected seconds .* got 'soon'/],
    [["-r", "a.pcap", "--tcp-idle-timeout", "0"], /--tcp-idle-timeout: expected seconds/],
    [["-r", "a.pcap", "--frobnicate"], /--frobnicate: unknown option/],
    [["-r"], /-r: missing value/],
    [["-r", "a.pcap", "extra"], /extra: unexpected argument/],
  ])("usage error %j exits 2 with a clear message", (args, message) => {
    const run = runSensor(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  it("a missing capture file exits 1 naming it", () => {
    const run = runSensor(["-r", join(work, "missing.pcap")]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("missing.pcap");
  });

  it("a file that is not a capture exits 1", () => {
    const file = join(work, "not-a-pcap.txt");
    writeFileSync(file, "hello, not a capture\n");
    const run = runSensor(["-r", file]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("not-a-pcap.txt");
  });

  it("an invalid BPF filter exits 1 with the compiler's reason", () => {
    const run = runSensor(["-r", pcap("sip.pcap"), "--bpf-filter", "port ((("]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/--bpf-filter: .*syntax error/);
  });

  it("a closed stdout exits 1 instead of dropping lines silently", () => {
    let status = 0;
    let stderr = "";
    try {
      execFileSync("sh", ["-c", `"$0" -r "$1" >&-`, SENSOR_BIN, pcap("netflix.pcap")], { stdio: "pipe" });
    } catch (err) {
      const failure = err as { status: number; stderr: Buffer };
      status = failure.status;
      stderr = failure.stderr.toString();
    }
    expect(status).toBe(1);
    expect(stderr).toMatch(/writing to stdout failed/);
  });
});
