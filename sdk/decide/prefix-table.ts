import { addressBytes } from "../abi/address";

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

/**
 * Longest-prefix match over IPv4 and IPv6, with the same IPv4-mapped keys the
 * eBPF LPM tries use, so user space and the data plane agree on every lookup.
 * One hash table per prefix length: a lookup costs one probe per distinct
 * length, whatever the number of prefixes (policies can hold 100k of them, and
 * the agent decides every DPI event with these tables).
 */
export class PrefixTable<T> {
  private readonly byLength = new Map<number, Map<string, T>>();
  /** Distinct prefix lengths, longest first. */
  private lengths: number[] = [];
  private count = 0;

  constructor(prefixes: Iterable<readonly [string, T]> = []) {
    for (const [prefix, value] of prefixes) this.add(prefix, value);
  }

  /** Adds a prefix; the first value given for a prefix stays. */
  add(prefix: string, value: T): void {
    const [address, length] = prefix.split("/");
    const v4 = !address.includes(":");
    const bits = (v4 ? 96 : 0) + (length === undefined ? (v4 ? 32 : 128) : Number(length));
    let table = this.byLength.get(bits);
    if (!table) {
      table = new Map();
      this.byLength.set(bits, table);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    const key = maskedKey(addressBytes(address), bits);
    if (table.has(key)) return;
    table.set(key, value);
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** The value of the longest prefix containing `address`, if any. */
  lookup(address: string): T | undefined {
    const bytes = addressBytes(address);
    for (const bits of this.lengths) {
      const value = this.byLength.get(bits)!.get(maskedKey(bytes, bits));
      if (value !== undefined) return value;
    }
    return undefined;
  }
}
