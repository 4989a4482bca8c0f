import fc from "fast-check";
import { isIPv4 } from "node:net";
import { addressBytes, parseIPv4 } from "@fos1/dpi/sdk/abi/address";
import { PrefixTable } from "@fos1/dpi/sdk/decide";

/** The obvious longest-prefix match: every prefix checked bit by bit, the first added wins a tie. */
function oracle(prefixes: readonly (readonly [string, number])[], address: string): number | undefined {
  const a = addressBytes(address);
  let best: { bits: number; value: number } | undefined;
  for (const [prefix, value] of prefixes) {
    const [addr, len] = prefix.split("/");
    const v4 = !addr.includes(":");
    const bits = (v4 ? 96 : 0) + (len === undefined ? (v4 ? 32 : 128) : Number(len));
    const p = addressBytes(addr);
    let ok = true;
    for (let i = 0; i < bits && ok; i++) {
      const bit = (x: Buffer) => (x[i >> 3] >> (7 - (i & 7))) & 1;
      ok = bit(a) === bit(p);
    }
    if (ok && (!best || bits > best.bits)) best = { bits, value };
  }
  return best?.value;
}

const v4 = fc.tuple(
  fc.integer({ min: 0, max: 3 }),
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: 255 }),
);
const v4Address = v4.map(([a, b, c]) => `10.${a}.${b}.${c}`);
const v4Prefix = fc.tuple(v4Address, fc.integer({ min: 8, max: 32 })).map(([a, l]) => `${a}/${l}`);
const v6Address = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([a, b]) => `2001:db8:${a}::${b.toString(16)}`);
const v6Prefix = fc.tuple(v6Address, fc.integer({ min: 32, max: 128 })).map(([a, l]) => `${a}/${l}`);
/** IPv4 written as IPv6 (IPv4-mapped), and short IPv6 prefixes that hold every IPv4 address. */
const mappedAddress = v4Address.map((a) => `::ffff:${a}`);
const mappedPrefix = fc.tuple(mappedAddress, fc.integer({ min: 96, max: 128 })).map(([a, l]) => `${a}/${l}`);
const coveringPrefix = fc.constantFrom("::/0", "::/64", "::ffff:0:0/96", "::ffff:0:0/95", "0.0.0.0/0");
const hostPrefix = fc.oneof(v4Address, v6Address);

describe("PrefixTable", () => {
  it("answers every lookup as a bit-by-bit longest-prefix match over the same prefixes (first added wins a tie)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(v4Prefix, v6Prefix, mappedPrefix, coveringPrefix, hostPrefix), { maxLength: 40 }),
        fc.array(fc.oneof(v4Address, v6Address, mappedAddress), { minLength: 1, maxLength: 20 }),
        (prefixes, addresses) => {
          const entries = prefixes.map((p, i) => [p, i] as const);
          const table = new PrefixTable(entries);
          for (const address of addresses) expect(table.lookup(address)).toBe(oracle(entries, address));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("IPv4 prefixes never match IPv6 addresses outside ::ffff:0:0/96, and host prefixes match only themselves", () => {
    const table = new PrefixTable<string>([
      ["10.10.0.0/16", "lan"],
      ["10.10.50.7", "host"],
      ["0.0.0.0/0", "any-v4"],
    ]);
    expect(table.lookup("10.10.50.7")).toBe("host");
    expect(table.lookup("10.10.50.8")).toBe("lan");
    expect(table.lookup("192.0.2.1")).toBe("any-v4");
    expect(table.lookup("2001:db8::1")).toBeUndefined();
    expect(table.lookup("::ffff:10.10.1.1")).toBe("lan");
  });
});

describe("parseIPv4", () => {
  const part = fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(String),
    fc.constantFrom("", "00", "01", "007", "1e1", " 1", "+1", "-1", "0x1", "٣"),
  );
  const text = fc.oneof(
    fc.array(part, { minLength: 1, maxLength: 6 }).map((parts) => parts.join(".")),
    fc.string({ maxLength: 16 }),
  );

  it("accepts exactly what node:net's isIPv4 accepts, as the number of its four bytes", () => {
    fc.assert(
      fc.property(text, (t) => {
        const parsed = parseIPv4(t);
        expect(parsed >= 0).toBe(isIPv4(t));
        if (parsed >= 0) expect(parsed).toBe(Buffer.from(t.split(".").map(Number)).readUInt32BE(0));
      }),
      { numRuns: 5000 },
    );
  });

  it("gives addressBytes the IPv4-mapped bytes it always gave", () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 255 }), ([b, c, d], a) => {
        const address = `${a}.${b}.${c}.${d}`;
        const mapped = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
        expect(addressBytes(address)).toEqual(mapped);
      }),
    );
    for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "10..0.1", "1.2.3.4.5", ""])
      expect(() => addressBytes(bad)).toThrow(/not an IPv4 or IPv6 address/);
  });
});
