import { addressBytes } from "../abi/address";

interface Entry<T> {
  readonly bytes: Buffer;
  /** Prefix length over the 16-byte (IPv4-mapped) form, as the kernel's LPM tries hold it. */
  readonly bits: number;
  readonly value: T;
}

/**
 * Longest-prefix match over IPv4 and IPv6, with the same IPv4-mapped keys the
 * eBPF LPM tries use, so user space and the data plane agree on every lookup.
 */
export class PrefixTable<T> {
  private readonly entries: Entry<T>[] = [];

  constructor(prefixes: Iterable<readonly [string, T]> = []) {
    for (const [prefix, value] of prefixes) this.add(prefix, value);
  }

  add(prefix: string, value: T): void {
    const [address, length] = prefix.split("/");
    const v4 = !address.includes(":");
    const bits = (v4 ? 96 : 0) + (length === undefined ? (v4 ? 32 : 128) : Number(length));
    this.entries.push({ bytes: addressBytes(address), bits, value });
    this.entries.sort((a, b) => b.bits - a.bits);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The value of the longest prefix containing `address`, if any. */
  lookup(address: string): T | undefined {
    const bytes = addressBytes(address);
    return this.entries.find((e) => matches(bytes, e.bytes, e.bits))?.value;
  }
}

function matches(address: Buffer, prefix: Buffer, bits: number): boolean {
  const whole = bits >> 3;
  if (address.compare(prefix, 0, whole, 0, whole) !== 0) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole] & mask) === (prefix[whole] & mask);
}
