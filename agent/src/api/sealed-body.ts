import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../../sdk/compile/canonical";
import type { NodeProgram } from "../../../sdk/compile/node-program";

/**
 * True when `body`, the PUT body `program` was parsed from, shows that the
 * program's hash is right without serialising its map entries again. A
 * sealed program (`sealProgram`) sent as `JSON.stringify` of it has every
 * part but `spec.maps` as the canonical JSON of what `program` holds, and
 * its maps' bytes are canonical JSON as they came: the canonical JSON of
 * metadata and spec is then those texts around the maps' bytes. Checking
 * that the bytes are canonical is one pass over them, where serialising
 * 100k entries costs as much as parsing them did.
 *
 * `body` is a text JSON.parse accepted, and `parsedMaps` the object it
 * made of the body's maps, which must be `program.spec.maps` itself
 * (`parseProgramBody` keeps it when its entries are valid). False only means
 * "not shown": the caller then hashes the program as usual, so anything
 * unusual is simply left to that.
 */
export function sealedBodyShowsHash(body: Buffer, program: NodeProgram, parsedMaps: unknown): boolean {
  if (program.spec.maps !== parsedMaps) return false;
  // The canonical JSON of metadata and spec with a placeholder for the maps: the texts around them.
  const canonical = canonicalJson({ metadata: program.metadata, spec: { ...program.spec, maps: MAPS_HOLE } });
  const hole = canonical.indexOf(MAPS_HOLE_TEXT);
  if (hole < 0 || hole !== canonical.lastIndexOf(MAPS_HOLE_TEXT)) return false;
  const before = canonical.slice(0, hole);
  const after = canonical.slice(hole + MAPS_HOLE_TEXT.length);
  // The body holds apiVersion and kind before them and the hash after, as sealProgram orders its members.
  const head = Buffer.from(
    `{"apiVersion":${JSON.stringify(program.apiVersion)},"kind":${JSON.stringify(program.kind)},${before.slice(1)}`,
  );
  const tail = Buffer.from(`${after.slice(0, -1)},"hash":${JSON.stringify(program.hash)}}`);
  const end = body.length - tail.length;
  if (end <= head.length) return false;
  if (!body.subarray(0, head.length).equals(head) || !body.subarray(end).equals(tail)) return false;
  // Bytes that are not UTF-8 parse as U+FFFD, which serialises to other bytes.
  if (!isUtf8(body) || !canonicalObject(body, head.length, end)) return false;
  const hash = createHash("sha256");
  hash.update(before);
  hash.update(body.subarray(head.length, end));
  hash.update(after);
  return hash.digest("hex") === program.hash;
}

/** Stands in for spec.maps; a program that holds this string anywhere else is left to the full hash. */
const MAPS_HOLE = "\u0000maps";
const MAPS_HOLE_TEXT = JSON.stringify(MAPS_HOLE);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
/** Integers of up to 15 digits are exact as doubles, so they print as they were written. */
const MAX_DIGITS = 15;

/**
 * True when `bytes[from, to)`, part of a valid JSON text, is one object
 * written exactly as canonicalJson writes what JSON.parse makes of it: no
 * whitespace, every object's keys strictly ascending, integers as they
 * print. Anything this does not need to vouch for is refused rather than
 * decided: an escape in a string, a key starting with a digit (V8 puts
 * array-index keys first), a non-ASCII key, a fraction, an exponent, -0.
 */
function canonicalObject(bytes: Buffer, from: number, to: number): boolean {
  if (bytes[from] !== OPEN_OBJECT) return false;
  // Outside strings a backslash is no JSON; inside, it starts an escape. Without any, a string ends at its next quote.
  const backslash = bytes.indexOf(BACKSLASH, from);
  if (backslash >= 0 && backslash < to) return false;
  /** Per open object, where its previous key starts and ends (-1: none yet); -2 marks an array. */
  const keyStart: number[] = [];
  const keyEnd: number[] = [];
  let i = from;
  while (i < to) {
    const c = bytes[i]!;
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      keyStart.push(c === OPEN_OBJECT ? -1 : -2);
      keyEnd.push(-1);
      i++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keyStart.pop();
      keyEnd.pop();
      i++;
      if (keyStart.length === 0) return i === to;
    } else if (c === QUOTE) {
      const close = bytes.indexOf(QUOTE, i + 1);
      if (close < 0 || close >= to) return false;
      const depth = keyStart.length - 1;
      if (bytes[close + 1] === COLON && keyStart[depth] !== -2) {
        if (!keyAfter(bytes, keyStart[depth]!, keyEnd[depth]!, i + 1, close)) return false;
        keyStart[depth] = i + 1;
        keyEnd[depth] = close;
        i = close + 2;
      } else {
        i = close + 1;
      }
    } else if (c === COMMA) {
      i++;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = integerEnd(bytes, i, to);
      if (i < 0) return false;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      // true, false, null: valid JSON has no other word.
      i += c === 0x66 ? 5 : 4;
    } else {
      return false;
    }
  }
  return false;
}

/** True when the key `[start, end)` is ASCII, starts with no digit, and sorts after `[prevStart, prevEnd)`. */
function keyAfter(bytes: Buffer, prevStart: number, prevEnd: number, start: number, end: number): boolean {
  if (end > start && bytes[start]! >= ZERO && bytes[start]! <= NINE) return false;
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  if (prevStart < 0) return true;
  const n = Math.min(prevEnd - prevStart, end - start);
  for (let k = 0; k < n; k++) {
    const a = bytes[prevStart + k]!;
    const b = bytes[start + k]!;
    if (a !== b) return a < b;
  }
  return prevEnd - prevStart < end - start;
}

/** Where the integer starting at `at` ends, or -1 when it is not one canonicalJson writes that way. */
function integerEnd(bytes: Buffer, at: number, to: number): number {
  let i = bytes[at] === MINUS ? at + 1 : at;
  const digits = i;
  while (i < to && bytes[i]! >= ZERO && bytes[i]! <= NINE) i++;
  const n = i - digits;
  if (n === 0 || n > MAX_DIGITS) return -1;
  if (bytes[at] === MINUS && n === 1 && bytes[digits] === ZERO) return -1;
  const next = bytes[i];
  if (next === 0x2e || next === 0x65 || next === 0x45) return -1;
  return i;
}
