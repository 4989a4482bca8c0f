import type { EventTimestamp } from "./dpi-event";

// ISO 8601 as the engines write it: Suricata `2018-07-05T15:01:09.820360-0400`,
// Zeek `2018-03-24T17:15:20.629574Z`. Without a zone the time is taken as UTC:
// engines always write one, and the log shippers that strip it store UTC.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch milliseconds of an ISO 8601 timestamp (UTC when it has no zone), or undefined. */
export function isoToEpochMs(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined;
  }
  const wholeMs = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return wholeMs + fractionMs - zoneOffsetMinutes(zone) * 60_000;
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === "Z") return 0;
  const digits = zone.replace(":", "");
  const sign = digits[0] === "-" ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
}

/** A timestamp given as ISO text or as Unix seconds (`raw` is the number as the engine spelled it). */
export function eventTimestamp(value: string | number, raw: string): EventTimestamp | undefined {
  const epochMs = typeof value === "number" ? value * 1000 : isoToEpochMs(value);
  if (epochMs === undefined || !Number.isFinite(epochMs)) return undefined;
  return { epochMs, raw };
}
