import { addressBytes } from "../../../sdk/abi/address";
import type { FlowKey } from "../../../sdk/abi/codec";
import { LAYOUTS } from "../../../sdk/abi/layout";

export const FLOW_KEY_SIZE = LAYOUTS.flowKey.size;
const ADDR_SIZE = LAYOUTS.addr.size;

/**
 * Writes an IPv4 address as its 16 IPv4-mapped bytes; false when `text` is
 * not a dotted quad (leading zeros refused, as node:net refuses them).
 * Runtime writers encode 100k keys at a time: this is the common case
 * without a regular expression and an allocation per address.
 */
function writeV4(text: string, out: Buffer, at: number): boolean {
  let part = 0;
  let digits = 0;
  let index = 12;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || index === 15) return false;
      out[at + index++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return false;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return false;
    } else return false;
  }
  if (digits === 0 || index !== 15) return false;
  out[at + 15] = part;
  out.fill(0, at, at + 10);
  out[at + 10] = 0xff;
  out[at + 11] = 0xff;
  return true;
}

/** The map bytes of an address (fos1.h: 16 bytes, IPv4-mapped); throws on anything else. */
export function writeAddress(text: string, out: Buffer, at: number): void {
  if (!writeV4(text, out, at)) addressBytes(text).copy(out, at);
}

/** Bytes of `struct fos1_addr` keys, back to back. */
export function addrKeys(addresses: readonly string[]): Buffer {
  const out = Buffer.alloc(addresses.length * ADDR_SIZE);
  addresses.forEach((a, i) => writeAddress(a, out, i * ADDR_SIZE));
  return out;
}

/**
 * Bytes of `struct fos1_flow_key` keys, back to back, with the same layout
 * as sdk/abi `encode("flowKey")` (a unit test holds the two equal). Keys
 * must be normalised already (sdk/abi `flowKeyOf`).
 */
export function flowKeys(keys: readonly FlowKey[]): Buffer {
  const out = Buffer.alloc(keys.length * FLOW_KEY_SIZE);
  keys.forEach((k, i) => {
    const at = i * FLOW_KEY_SIZE;
    writeAddress(k.addrA, out, at);
    writeAddress(k.addrB, out, at + ADDR_SIZE);
    out.writeUInt16BE(k.portA, at + 32);
    out.writeUInt16BE(k.portB, at + 34);
    out.writeUInt16LE(k.vlanId, at + 36);
    out.writeUInt8(k.proto, at + 38);
  });
  return out;
}
