import { isIP } from "node:net";
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
  const bytes = addressBytes(address);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return `${formatAddress(bytes)}/${length}`;
}

/** The address as bytes: 4 for IPv4, 16 for IPv6. */
export function addressBytes(address: string): number[] {
  if (isIP(address) === 4) return address.split(".").map(Number);
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const parse = (part: string | undefined): number[] => {
    if (!part) return [];
    const groups = part.split(":");
    const last = groups[groups.length - 1];
    const out: number[] = [];
    for (const g of groups.slice(0, isIP(last) === 4 ? -1 : undefined)) {
      const n = parseInt(g, 16);
      out.push(n >> 8, n & 0xff);
    }
    if (isIP(last) === 4) out.push(...last.split(".").map(Number));
    return out;
  };
  const front = parse(head);
  const back = parse(tail);
  return [...front, ...new Array(16 - front.length - back.length).fill(0), ...back];
}

/** Inverse of addressBytes: dotted quad for 4 bytes, RFC 5952 text for 16. */
export function formatAddress(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
