import { isIP } from "node:net";
import { z } from "zod";

/**
 * Whether the text is an IPv4 or IPv6 address, as node's isIP decides. Dotted
 * quads, two in every line, are checked by a scan first; isIP's patterns
 * cost more than the rest of the field checks together.
 */
export function isIpAddress(text: string): boolean {
  return isDottedQuad(text) || isIP(text) !== 0;
}

/** Four decimal octets 0..255 without leading zeros: exactly what isIP calls IPv4. */
function isDottedQuad(text: string): boolean {
  let octets = 0;
  let at = 0;
  while (at < text.length && octets < 4) {
    const start = at;
    let value = 0;
    while (at < text.length && at - start < 3) {
      const code = text.charCodeAt(at);
      if (code < 0x30 || code > 0x39) break;
      value = value * 10 + (code - 0x30);
      at++;
    }
    const digits = at - start;
    if (digits === 0 || value > 255 || (digits > 1 && text.charCodeAt(start) === 0x30)) return false;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(at) !== 0x2e) return false;
      at++;
    }
  }
  return octets === 4 && at === text.length;
}

/** Field types engines write, shared by the engine record schemas. */
export const ipText = z.string().refine(isIpAddress, "expected an IPv4 or IPv6 address");
export const portNumber = z.number().int().min(0).max(65535);
export const unsigned = z.number().int().nonnegative();
/** Engine flow ids are u64: past 2^53 JSON.parse rounds them, so only integrality is checked here and the text is kept (numberText). */
export const flowIdNumber = z.number().nonnegative().refine(Number.isInteger, "expected an integer");
