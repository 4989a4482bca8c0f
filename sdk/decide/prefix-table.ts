import { addressBytes, parseIPv4 } from "../abi/address";

/** The bits of the IPv4-mapped prefix (::ffff:0:0/96) every IPv4 address sits under. */
const MAPPED_BITS = 96;

/** The first `bits` bits of a 16-byte address, as a string key (the rest zeroed). */
function maskedKey(bytes: Buffer, bits: number): string {
  const out = Buffer.from(bytes);
  const whole = bits >> 3;
  if (whole < 16) {
    out[whole] &= (0xff << (8 - (bits & 7))) & 0xff;
    out.fill(0, whole + 1);
  }
  return out.toString("latin1");
}

/** The first `bits` (0 to 32) bits of an IPv4 address as a number. */
const maskedV4 = (address: number, bits: number): number =>
  bits === 0 ? 0 : (address & (0xffffffff << (32 - bits))) >>> 0;

/** True when the 16 bytes are an IPv4-mapped address. */
function isMapped(bytes: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** One hash table per prefix length, and the lengths longest first. */
class ByLength<K, T> {
  readonly tables = new Map<number, Map<K, T>>();
  lengths: number[] = [];

  table(bits: number): Map<K, T> {
    let table = this.tables.get(bits);
    if (!table) {
      table = new Map();
      this.tables.set(bits, table);
      this.lengths = [...this.tables.keys()].sort((a, b) => b - a);
    }
    return table;
  }
}

/**
 * Longest-prefix match over IPv4 and IPv6, with the same IPv4-mapped keys the
 * eBPF LPM tries use, so user space and the data plane agree on every lookup.
 * One hash table per prefix length: a lookup costs one probe per distinct
 * length, whatever the number of prefixes (policies can hold 100k of them, and
 * the agent decides every DPI event with these tables). Prefixes longer than
 * /96 inside ::ffff:0:0/96 (every IPv4 prefix) are keyed by their IPv4 number,
 * so the common case parses no address into bytes and allocates no key.
 */
export class PrefixTable<T> {
  /** Prefixes inside ::ffff:0:0/96 longer than /96, by their length past /96. */
  private readonly v4 = new ByLength<number, T>();
  /** Every other prefix, by its length, keyed by its masked 16 bytes. */
  private readonly v6 = new ByLength<string, T>();
  private count = 0;

  constructor(prefixes: Iterable<readonly [string, T]> = []) {
    for (const [prefix, value] of prefixes) this.add(prefix, value);
  }

  /** Adds a prefix (a bare address is a host prefix); the first value given for a prefix stays. */
  add(prefix: string, value: T): void {
    const slash = prefix.indexOf("/");
    const address = slash < 0 ? prefix : prefix.slice(0, slash);
    const v4 = !address.includes(":");
    const bits = (v4 ? MAPPED_BITS : 0) + (slash < 0 ? (v4 ? 32 : 128) : Number(prefix.slice(slash + 1)));
    // A /0 of IPv4 is ::ffff:0:0/96, which IPv6 can write too: it is kept with the other /96s.
    const number = v4 && bits > MAPPED_BITS && bits <= 128 ? parseIPv4(address) : -1;
    if (number >= 0) {
      this.set(this.v4.table(bits - MAPPED_BITS), maskedV4(number, bits - MAPPED_BITS), value);
      return;
    }
    const bytes = addressBytes(address);
    if (bits > MAPPED_BITS && bits <= 128 && isMapped(bytes)) {
      const v4bits = bits - MAPPED_BITS;
      this.set(this.v4.table(v4bits), maskedV4(bytes.readUInt32BE(12), v4bits), value);
      return;
    }
    this.set(this.v6.table(bits), maskedKey(bytes, bits), value);
  }

  get size(): number {
    return this.count;
  }

  /** The value of the longest prefix containing `address`, if any. */
  lookup(address: string): T | undefined {
    let number = parseIPv4(address);
    let bytes: Buffer | undefined;
    if (number < 0) {
      bytes = addressBytes(address);
      if (isMapped(bytes)) number = bytes.readUInt32BE(12);
    }
    if (number >= 0) {
      // IPv4 prefixes are all longer than /96, so longer than any other prefix an IPv4 address can be in.
      for (const bits of this.v4.lengths) {
        const value = this.v4.tables.get(bits)!.get(maskedV4(number, bits));
        if (value !== undefined) return value;
      }
      if (this.v6.lengths.length === 0) return undefined;
    }
    bytes ??= addressBytes(address);
    for (const bits of this.v6.lengths) {
      const value = this.v6.tables.get(bits)!.get(maskedKey(bytes, bits));
      if (value !== undefined) return value;
    }
    return undefined;
  }

  private set<K>(table: Map<K, T>, key: K, value: T): void {
    if (table.has(key)) return;
    table.set(key, value);
    this.count++;
  }
}
