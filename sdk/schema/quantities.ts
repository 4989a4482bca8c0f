import { isIP } from "node:net";
import { addressBytes, addressText } from "../abi/address";
import { z } from "zod";

/**
 * Value types that policies write as text the way operators do (`20%`,
 * `100Mbit`, `5m`, `EF`, `10.0.0.0/24`), each parsed to a number or a
 * normalised form at the edge so the compilers never see text units.
 */

/** `20%` or `20` -> 20. Between 0 and 100 inclusive. */
export const percentage = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const match =
    typeof value === "number" ? [String(value), String(value)] : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  const n = match ? Number(match[1]) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 100) {
    ctx.addIssue({
      code: "custom",
      message: `expected a percentage from 0% to 100% such as "20%", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return n;
});

const bandwidthUnits: Record<string, number> = {
  bit: 1,
  bps: 1,
  kbit: 1e3,
  kbps: 1e3,
  mbit: 1e6,
  mbps: 1e6,
  gbit: 1e9,
  gbps: 1e9,
  tbit: 1e12,
  tbps: 1e12,
};

/** `100Mbit`, `1.5Gbps`, `500kbit` (decimal units, bits per second) -> bits per second. */
export const bandwidth = z.union([z.string(), z.number()]).transform((value, ctx) => {
  let bps = NaN;
  if (typeof value === "number") bps = value;
  else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(value);
    const unit = match ? bandwidthUnits[match[2].toLowerCase()] : undefined;
    if (match && unit) bps = Number(match[1]) * unit;
  }
  if (!Number.isFinite(bps) || bps < 8000 || bps > 1e13 || !Number.isInteger(Math.round(bps))) {
    ctx.addIssue({
      code: "custom",
      message: `expected a bandwidth from 8kbit to 10Tbit such as "100Mbit" or "1Gbps", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return Math.round(bps);
});

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `300ms`, `30s`, `5m`, `1h`, `1d` -> milliseconds (at least 1 ms, at most 30 days). */
export const duration = z.string().transform((value, ctx) => {
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(value);
  const ms = match ? Number(match[1]) * durationUnits[match[2]] : NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > 30 * 86_400_000) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration from 1ms to 30d such as "30s" or "5m", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

/** RFC 2474/2597/3246 code point names. */
export const DSCP_NAMES: Readonly<Record<string, number>> = {
  BE: 0,
  DF: 0,
  CS0: 0,
  CS1: 8,
  CS2: 16,
  CS3: 24,
  CS4: 32,
  CS5: 40,
  CS6: 48,
  CS7: 56,
  AF11: 10,
  AF12: 12,
  AF13: 14,
  AF21: 18,
  AF22: 20,
  AF23: 22,
  AF31: 26,
  AF32: 28,
  AF33: 30,
  AF41: 34,
  AF42: 36,
  AF43: 38,
  EF: 46,
  VA: 44,
  LE: 1,
};

/** A DSCP name (`EF`, `AF41`, `CS1`, `BE`) or number 0..63 -> number. */
export const dscp = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const n = typeof value === "number" ? value : DSCP_NAMES[value.trim().toUpperCase()];
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 63) {
    ctx.addIssue({
      code: "custom",
      message: `expected a DSCP name (EF, AF41, AF21, CS1, BE, ...) or a number from 0 to 63, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return n;
});

/** A DNS-1123 label: what Kubernetes, nftables, tc and our maps all accept as a name. */
export const name = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "must be lower-case letters, digits and '-', starting and ending with a letter or digit",
  )
  .max(63, "must be at most 63 characters");

/** A Linux interface name (IFNAMSIZ 16 including the terminator; no '/', ':' or white space). */
export const interfaceName = z
  .string()
  .regex(
    /^[A-Za-z0-9_.@-]{1,15}$/,
    "must be a Linux interface name: 1 to 15 of letters, digits, '_', '.', '-', '@'",
  );

export const ipAddress = z
  .string()
  .refine((v) => isIP(v) !== 0, { message: "must be an IPv4 or IPv6 address" });

/** `10.0.0.0/24`, `2001:db8::/32` or a bare address (a host prefix) -> normalised `addr/len` with host bits zero. */
export const cidr = z.string().transform((value, ctx) => {
  const normalised = normaliseCidr(value);
  if (!normalised) {
    ctx.addIssue({
      code: "custom",
      message: `expected an IPv4 or IPv6 prefix such as "10.0.0.0/24", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return normalised;
});

export function normaliseCidr(value: string): string | undefined {
  const [address, lengthText, ...rest] = value.trim().split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  const length = lengthText === undefined ? bits : /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
  if (!(length >= 0 && length <= bits)) return undefined;
  // Clear the host bits on the 16-byte form the kernel maps use (IPv4 sits in the last 4 bytes).
  const bytes = addressBytes(address);
  const keep = length + (family === 4 ? 96 : 0);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] &= (0xff << (8 - Math.max(0, Math.min(8, keep - i * 8)))) & 0xff;
  const text = addressText(bytes);
  // addressText prints IPv4-mapped IPv6 as dotted IPv4; an IPv6 prefix stays IPv6.
  return `${family === 6 && !text.includes(":") ? `::ffff:${text}` : text}/${length}`;
}
