import { isIPv4, isIPv6 } from "node:net";

/** Every address in the maps is 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). */
export const ADDR_LEN = 16;

const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

function v6Groups(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (part: string | undefined): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const b = g.split(".").map(Number);
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * A dotted-quad IPv4 address as its 32-bit number, or -1 when `text` is not
 * one as node:net's isIPv4 decides (four decimals 0-255, no leading zeros).
 * Without a regular expression or an allocation: policy views parse 100k
 * prefixes and the agent parses an address per event.
 */
export function parseIPv4(text: string): number {
  let number = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      number = number * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return number * 256 + part;
}

/** The 16 map bytes of an IPv4 or IPv6 address (zone ids are not accepted). */
export function addressBytes(address: string): Buffer {
  const v4 = parseIPv4(address);
  if (v4 >= 0) {
    const out = Buffer.alloc(ADDR_LEN);
    V4_MAPPED_PREFIX.copy(out);
    out.writeUInt32BE(v4, 12);
    return out;
  }
  if (isIPv6(address) && !address.includes("%")) {
    const out = Buffer.alloc(ADDR_LEN);
    v6Groups(address).forEach((g, i) => out.writeUInt16BE(g, i * 2));
    return out;
  }
  throw new Error(`${JSON.stringify(address)}: not an IPv4 or IPv6 address`);
}

/** The text form of 16 map bytes: dotted IPv4 for IPv4-mapped addresses, else compressed IPv6. */
export function addressText(bytes: Buffer): string {
  if (bytes.length !== ADDR_LEN) throw new Error(`address: ${bytes.length} bytes, expected ${ADDR_LEN}`);
  if (bytes.subarray(0, 12).equals(V4_MAPPED_PREFIX)) return [...bytes.subarray(12)].join(".");
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.len).join(":")}`;
}

/**
 * An LPM-trie key for a prefix in CIDR form; an IPv4 /n becomes /(96+n) of
 * the mapped address. Host bits must be zero, so a typo is not silently widened.
 */
export function lpmPrefix(cidr: string): { prefixlen: number; addr: string } {
  const [addr, lenText, extra] = cidr.split("/");
  if (addr === undefined || lenText === undefined || extra !== undefined || !/^\d+$/.test(lenText)) {
    throw new Error(`${JSON.stringify(cidr)}: expected ADDRESS/LENGTH`);
  }
  const v4 = isIPv4(addr);
  const len = Number(lenText);
  if (len > (v4 ? 32 : 128)) throw new Error(`${JSON.stringify(cidr)}: prefix length ${len} is too long`);
  const prefixlen = v4 ? 96 + len : len;
  const bytes = addressBytes(addr);
  for (let bit = prefixlen; bit < 128; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) {
      throw new Error(`${JSON.stringify(cidr)}: host bits set beyond /${len}`);
    }
  }
  return { prefixlen, addr };
}
