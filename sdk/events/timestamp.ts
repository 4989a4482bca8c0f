import type { EventTimestamp } from "./dpi-event";

// ISO 8601 as the engines write it: Suricata `2018-07-05T15:01:09.820360-0400`,
// Zeek `2018-03-24T17:15:20.629574Z`. Without a zone the time is taken as UTC:
// engines always write one, and the log shippers that strip it store UTC.
// Accepted: YYYY-MM-DD(T| )hh:mm:ss(.f{1,9})?(Z|±hh(:)?mm)? — read by position,
// not by a regular expression, because every Suricata line carries one or two.

/** Epoch milliseconds of an ISO 8601 timestamp (UTC when it has no zone), or undefined. */
export function isoToEpochMs(text: string): number | undefined {
  const sep = text.charCodeAt(10);
  if (
    text.length < 19 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    (sep !== T && sep !== SPACE) ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON
  ) {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 60) return undefined;
  let at = 19;
  let fractionMs = 0;
  if (text.charCodeAt(at) === DOT) {
    const first = at + 1;
    at = first;
    while (at < text.length && at - first < 10 && isDigit(text.charCodeAt(at))) at++;
    if (at === first || at - first > 9) return undefined;
    fractionMs = Number(`0.${text.slice(first, at)}`) * 1000;
  }
  const offsetMinutes = zoneOffsetMinutes(text, at);
  if (offsetMinutes === undefined) return undefined;
  return (
    dayStartMs(text, year, month, day) +
    (hour * 3600 + minute * 60 + second) * 1000 +
    fractionMs -
    offsetMinutes * 60_000
  );
}

// Lines arrive in time order, so the last day computed is nearly always the next one asked for.
let lastDay = "";
let lastDayStartMs = 0;
function dayStartMs(text: string, year: number, month: number, day: number): number {
  const date = text.slice(0, 10);
  if (date !== lastDay) {
    lastDayStartMs = Date.UTC(year, month - 1, day);
    lastDay = date;
  }
  return lastDayStartMs;
}

const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const SPACE = 0x20;
const T = 0x54;
const Z = 0x5a;
const PLUS = 0x2b;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** The decimal number in `count` digits at `start`, or -1 when one is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - 0x30);
  }
  return value;
}

/** The zone suffix starting at `at` (nothing, `Z`, `±hhmm`, `±hh:mm`) in minutes east of UTC, or undefined. */
function zoneOffsetMinutes(text: string, at: number): number | undefined {
  const rest = text.length - at;
  if (rest === 0) return 0;
  const sign = text.charCodeAt(at);
  if (sign === Z) return rest === 1 ? 0 : undefined;
  if ((sign !== PLUS && sign !== DASH) || (rest !== 5 && rest !== 6)) return undefined;
  const hours = digitsAt(text, at + 1, 2);
  const minutesAt = rest === 6 ? at + 4 : at + 3;
  if (rest === 6 && text.charCodeAt(at + 3) !== COLON) return undefined;
  const minutes = digitsAt(text, minutesAt, 2);
  if (hours < 0 || minutes < 0) return undefined;
  return (sign === DASH ? -1 : 1) * (hours * 60 + minutes);
}

/** A timestamp given as ISO text or as Unix seconds (`raw` is the number as the engine spelled it). */
export function eventTimestamp(value: string | number, raw: string): EventTimestamp | undefined {
  const epochMs = typeof value === "number" ? value * 1000 : isoToEpochMs(value);
  if (epochMs === undefined || !Number.isFinite(epochMs)) return undefined;
  return { epochMs, raw };
}
