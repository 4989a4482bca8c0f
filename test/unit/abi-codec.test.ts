import fc from "fast-check";
import {
  addressBytes,
  addressText,
  decode,
  encode,
  flowKeyOf,
  lpmPrefix,
  type Flow,
} from "@fos1/dpi/sdk/abi";

describe("addresses", () => {
  it("stores IPv4 mapped and reads it back dotted", () => {
    expect(addressBytes("10.1.0.10").toString("hex")).toBe("00000000000000000000ffff0a01000a");
    expect(addressText(addressBytes("10.1.0.10"))).toBe("10.1.0.10");
  });
  it("round-trips IPv6 in compressed form", () => {
    expect(addressBytes("2001:db8::10").toString("hex")).toBe("20010db8000000000000000000000010");
    expect(addressText(addressBytes("2001:db8::10"))).toBe("2001:db8::10");
    expect(addressText(addressBytes("fd01:0:0:1::"))).toBe("fd01:0:0:1::");
  });
  it("round-trips any IPv6 address", () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        expect(addressBytes(addressText(addressBytes(a)))).toEqual(addressBytes(a));
      }),
    );
  });
  it("rejects what is not an address", () => {
    expect(() => addressBytes("10.1.0")).toThrow('"10.1.0": not an IPv4 or IPv6 address');
  });
  it("maps an IPv4 prefix to /(96+n) and refuses host bits", () => {
    expect(lpmPrefix("10.1.0.0/24")).toEqual({ prefixlen: 120, addr: "10.1.0.0" });
    expect(lpmPrefix("2001:db8::/32")).toEqual({ prefixlen: 32, addr: "2001:db8::" });
    expect(() => lpmPrefix("10.1.0.1/24")).toThrow("host bits set beyond /24");
    expect(() => lpmPrefix("10.1.0.0/33")).toThrow("prefix length 33 is too long");
  });
});

describe("struct codecs", () => {
  const flow: Flow = {
    state: 1,
    flags: 3,
    appId: 7,
    classId: 2,
    mark: 0x200,
    segmentId: 3,
    sampleCount: 9,
    blockGen: 4,
    nhIfindex: [3, 0],
    nhMtu: [1500, 0],
    nhSmac: ["02:fb:00:00:02:01", "00:00:00:00:00:00"],
    nhDmac: ["02:fb:00:00:02:02", "00:00:00:00:00:00"],
    dscp: 46,
    packets: [10n, 20n],
    bytes: [1000n, 2000n],
    firstSeenNs: 5n,
    lastSeenNs: 6n,
    offloadDeadlineNs: 0xffffffffffffn,
    nhCheckedNs: [7n, 0n],
    appGen: 11,
    appKey: 7,
    appClassId: 5,
    appFlags: 1,
    qosGen: 12,
    qosKey: 2,
    qosSkbPriority: 0x10011,
    qosDscp: 46,
    qosFound: 1,
  };

  it("round-trips a flow value at the C offsets", () => {
    const buf = encode("flow", flow);
    expect(buf).toHaveLength(176);
    expect(buf.readUInt32LE(16)).toBe(0x200);
    expect(buf.subarray(56, 62).toString("hex")).toBe("02fb00000202");
    expect(buf[68]).toBe(46);
    expect(buf.readBigUInt64LE(80)).toBe(20n);
    expect(buf.readUInt32LE(148)).toBe(7);
    expect(buf.readUInt32LE(168)).toBe(0x10011);
    expect(buf[173]).toBe(1);
    expect(decode("flow", buf)).toEqual(flow);
  });

  it("writes ports big-endian and addresses mapped in a flow key", () => {
    const buf = encode("flowKey", {
      addrA: "10.1.0.10",
      addrB: "198.51.100.10",
      portA: 40000,
      portB: 443,
      vlanId: 10,
      proto: 6,
    });
    expect(buf.subarray(32, 36).toString("hex")).toBe("9c4001bb");
    expect(buf.readUInt16LE(36)).toBe(10);
    expect(buf[38]).toBe(6);
  });

  it("writes the load-shedding switch at its C offset; a writer that leaves it out writes 0 (off)", () => {
    const config = { ...decode("config", Buffer.alloc(64)), mirrorIfindex: 9, nexthopTtlNs: 1n };
    const on = encode("config", { ...config, loadSampleOneIn: 8 });
    expect(on).toHaveLength(64);
    expect(on.readUInt32LE(56)).toBe(8);
    expect(on.readUInt32LE(60)).toBe(0);
    expect(decode("config", on)).toEqual({ ...config, loadSampleOneIn: 8 });
    const older: Partial<typeof config> = { ...config };
    delete older.loadSampleOneIn;
    const written = encode("config", older as Omit<typeof config, "loadSampleOneIn">);
    expect(written.readUInt32LE(56)).toBe(0);
    expect(written.subarray(0, 56)).toEqual(on.subarray(0, 56));
  });

  it("names the struct and field of invalid input", () => {
    expect(() => encode("qosClass", { skbPriority: 0x10011, dscp: 64 })).toThrow(/^fos1_qos_class\.dscp: /);
    expect(() => encode("config", { ...decode("config", Buffer.alloc(64)), sampleOneIn: -1 })).toThrow(
      /^fos1_config\.sampleOneIn: /,
    );
  });

  it("refuses a buffer of the wrong size", () => {
    expect(() => decode("block", Buffer.alloc(15))).toThrow("fos1_block: 15 bytes, expected 16");
  });
});

describe("flow key normalisation", () => {
  it("gives both directions the same key", () => {
    const there = flowKeyOf({ src: "10.1.0.10", dst: "198.51.100.10", sport: 40000, dport: 443, proto: 6 });
    const back = flowKeyOf({ src: "198.51.100.10", dst: "10.1.0.10", sport: 443, dport: 40000, proto: 6 });
    expect(back.key).toEqual(there.key);
    expect(there.srcIsA).toBe(true);
    expect(back.srcIsA).toBe(false);
  });
  it("orders by port when the addresses are equal", () => {
    const k = flowKeyOf({ src: "::1", dst: "::1", sport: 5000, dport: 80, proto: 17 });
    expect([k.key.portA, k.key.portB, k.srcIsA]).toEqual([80, 5000, false]);
  });
  it("uses the ICMP echo identifier as both ports and no ports for other protocols", () => {
    expect(flowKeyOf({ src: "10.0.0.1", dst: "10.0.0.2", sport: 77, dport: 0, proto: 1 }).key).toMatchObject({
      portA: 77,
      portB: 77,
    });
    expect(flowKeyOf({ src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, proto: 47 }).key).toMatchObject({
      portA: 0,
      portB: 0,
    });
  });
  it("is symmetric for any tuple", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.nat(65535), fc.nat(65535), (a, b, p, q) => {
        const x = flowKeyOf({ src: a, dst: b, sport: p, dport: q, proto: 6 });
        const y = flowKeyOf({ src: b, dst: a, sport: q, dport: p, proto: 6 });
        expect(y.key).toEqual(x.key);
        expect(encode("flowKey", y.key)).toEqual(encode("flowKey", x.key));
      }),
    );
  });
});
