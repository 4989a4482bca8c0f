import { addressBytes, parseIPv4 } from "../../../sdk/abi/address";
import type { FlowKey } from "../../../sdk/abi/codec";
import { LAYOUTS } from "../../../sdk/abi/layout";

export const FLOW_KEY_SIZE = LAYOUTS.flowKey.size;
const ADDR_SIZE = LAYOUTS.addr.size;

/**
 * The map bytes of an address (fos1.h: 16 bytes, IPv4-mapped); throws on
 * anything else. Runtime writers encode 100k keys at a time: a dotted quad,
 * the common case, is written without an allocation.
 */
export function writeAddress(text: string, out: Buffer, at: number): void {
  const v4 = parseIPv4(text);
  if (v4 < 0) {
    addressBytes(text).copy(out, at);
    return;
  }
  out.fill(0, at, at + 10);
  out[at + 10] = 0xff;
  out[at + 11] = 0xff;
  out.writeUInt32BE(v4, at + 12);
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
