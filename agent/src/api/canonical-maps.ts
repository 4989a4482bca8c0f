import { MAP_LIMITS } from "../../../sdk/compile/node-program";
import type { EncodedMap, EncodedMaps } from "../bpf/encoded-maps";
import { POLICY_MAPS, writePrefix, type EntryCodec, type PolicyMap } from "../bpf/policy-maps";

/** The maps' bytes as read, and where they end in the body. */
export interface CanonicalMaps {
  readonly end: number;
  readonly maps: EncodedMaps;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
const SPACE = 0x20;
/** Integers of up to 15 digits are exact as doubles, so they print as they were written. */
const MAX_DIGITS = 15;

const ascii = (text: string) => Buffer.from(text, "latin1");
const KEY_OPEN = ascii('{"key":{');
const NOTE_OPEN = ascii(',"note":');
const VALUE_OPEN = ascii(',"value":{');
/** `{"key":{},"value":{}}`: no entry is shorter. */
const MIN_ENTRY = 21;

/** A codec's members in canonical (sorted) order, as bytes to match, with how each is written. */
interface Member {
  readonly name: Buffer;
  /** Byte offset and width of a number member; width 0: the codec's prefix string. */
  readonly offset: number;
  readonly width: 0 | 1 | 4;
  readonly min: number;
  readonly max: number;
}

const members = (codec: EntryCodec): readonly Member[] =>
  [...codec.layout]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((f) => ({ name: ascii(f.name), offset: f.offset, width: f.width, min: f.min, max: f.max }));

interface MapGrammar {
  readonly map: PolicyMap;
  readonly name: Buffer;
  readonly key: readonly Member[];
  readonly value: readonly Member[];
}

/** The policy maps in canonical order of their names. */
const GRAMMARS: readonly MapGrammar[] = [...POLICY_MAPS]
  .sort((a, b) => (a.name < b.name ? -1 : 1))
  .map((map) => ({ map, name: ascii(map.name), key: members(map.key), value: members(map.value) }));

/** Thrown inside the reader when the bytes are not what it vouches for; the reader then returns undefined. */
const DECLINE = new Error("not canonical policy maps");

/**
 * Reads `spec.maps` of a PUT body from `from`, where its `{` is, straight
 * into the bytes the kernel's maps take, when the bytes are exactly what
 * canonicalJson writes for valid policy maps: no whitespace or escapes, map
 * names and members in sorted order, every map a policy map, every key and
 * value member one the map's struct has and within its range, every key
 * complete, `note` within its length. JSON.parse of those bytes then gives
 * maps that `nodeProgramSpec.shape.maps` accepts unchanged, and the codecs
 * of policy-maps.ts write the bytes this returns. Undefined for anything
 * else, which is left to JSON.parse and the codecs to accept or refuse.
 */
export function readCanonicalMaps(bytes: Buffer, from: number): CanonicalMaps | undefined {
  try {
    return new Reader(bytes, from).maps();
  } catch (error) {
    if (error === DECLINE) return undefined;
    throw error;
  }
}

const DOT = 0x2e;
const SLASH = 0x2f;

/**
 * Writes the LPM key of `a.b.c.d/n` in `bytes[start, end)` at `at` (zeroed)
 * as policy-maps.ts `writePrefix` does, the address as sdk/abi `parseIPv4`
 * reads one; false for any other text, which is then left to `writePrefix`.
 * Without making a string of it: a program may carry 100k prefixes.
 */
function ipv4Prefix(bytes: Buffer, start: number, end: number, out: Buffer, at: number): boolean {
  let address = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let i = start;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c === DOT) {
      if (digits === 0 || ++dots > 3) return false;
      address = address * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= ZERO && c <= NINE) {
      if (digits === 1 && part === 0) return false;
      part = part * 10 + (c - ZERO);
      if (++digits > 3 || part > 255) return false;
    } else break;
  }
  if (digits === 0 || dots !== 3 || bytes[i] !== SLASH) return false;
  address = address * 256 + part;
  const lengthDigits = end - i - 1;
  if (lengthDigits < 1 || lengthDigits > 3) return false;
  let length = 0;
  for (let j = i + 1; j < end; j++) {
    const c = bytes[j]!;
    if (c < ZERO || c > NINE) return false;
    length = length * 10 + (c - ZERO);
  }
  if (length > 32) return false;
  // Host bits: what is left below the prefix's bits.
  if (length < 32 && address % 2 ** (32 - length) !== 0) return false;
  out[at] = 96 + length;
  out[at + 14] = 0xff;
  out[at + 15] = 0xff;
  out[at + 16] = address >>> 24;
  out[at + 17] = (address >>> 16) & 0xff;
  out[at + 18] = (address >>> 8) & 0xff;
  out[at + 19] = address & 0xff;
  return true;
}

class Reader {
  constructor(
    private readonly b: Buffer,
    private i: number,
  ) {}

  maps(): CanonicalMaps {
    const out = new Map<PolicyMap["name"], EncodedMap>();
    this.expect(OPEN_OBJECT);
    let next = 0;
    if (this.b[this.i] === CLOSE_OBJECT) return { end: this.i + 1, maps: out };
    for (;;) {
      const at = this.member(GRAMMARS, next);
      next = at + 1;
      const grammar = GRAMMARS[at]!;
      this.expect(COLON);
      out.set(grammar.map.name, this.entries(grammar));
      const c = this.b[this.i++];
      if (c === CLOSE_OBJECT) return { end: this.i, maps: out };
      if (c !== COMMA) throw DECLINE;
    }
  }

  /** One map's list of entries, written into its key and value structs back to back. */
  private entries(grammar: MapGrammar): EncodedMap {
    const { map } = grammar;
    this.expect(OPEN_ARRAY);
    // Room for as many entries as the rest of the body could hold; copied out to size at the end.
    const room = Math.min(Math.floor((this.b.length - this.i) / MIN_ENTRY) + 1, MAP_LIMITS.entries);
    const keys = Buffer.allocUnsafe(room * map.key.size);
    const values = Buffer.allocUnsafe(room * map.value.size);
    let count = 0;
    if (this.b[this.i] === CLOSE_ARRAY) {
      this.i++;
      return { map, count, keys: Buffer.alloc(0), values: Buffer.alloc(0) };
    }
    for (;;) {
      if (count === room) throw DECLINE;
      this.literal(KEY_OPEN);
      const fields = this.record(grammar.key, keys, count * map.key.size, map.key.size);
      if (fields !== grammar.key.length) throw DECLINE;
      if (this.b[this.i + 2] === 0x6e) {
        this.literal(NOTE_OPEN);
        if (this.string() > MAP_LIMITS.note) throw DECLINE;
      }
      this.literal(VALUE_OPEN);
      this.record(grammar.value, values, count * map.value.size, map.value.size);
      this.expect(CLOSE_OBJECT);
      count++;
      const c = this.b[this.i++];
      if (c === CLOSE_ARRAY) break;
      if (c !== COMMA) throw DECLINE;
    }
    return {
      map,
      count,
      keys: Buffer.from(keys.subarray(0, count * map.key.size)),
      values: Buffer.from(values.subarray(0, count * map.value.size)),
    };
  }

  /**
   * The members of a key or value record after its `{`, through its `}`,
   * written at `at` (a member left out is 0); returns how many there were.
   */
  private record(fields: readonly Member[], out: Buffer, at: number, size: number): number {
    for (let j = at; j < at + size; j++) out[j] = 0;
    if (this.b[this.i] === CLOSE_OBJECT) {
      this.i++;
      return 0;
    }
    let next = 0;
    let written = 0;
    for (;;) {
      const index = this.member(fields, next);
      next = index + 1;
      this.expect(COLON);
      const f = fields[index]!;
      if (f.width === 0) this.prefix(out, at);
      else this.integer(f, out, at + f.offset);
      written++;
      const c = this.b[this.i++];
      if (c === CLOSE_OBJECT) return written;
      if (c !== COMMA) throw DECLINE;
    }
  }

  /** A quoted member name that is one of `names` from `first` on (sorted order), as its index. */
  private member(names: readonly { readonly name: Buffer }[], first: number): number {
    const b = this.b;
    if (b[this.i] !== QUOTE) throw DECLINE;
    const start = this.i + 1;
    for (let k = first; k < names.length; k++) {
      const name = names[k]!.name;
      let j = 0;
      while (j < name.length && b[start + j] === name[j]) j++;
      if (j === name.length && b[start + j] === QUOTE) {
        this.i = start + j + 1;
        return k;
      }
    }
    throw DECLINE;
  }

  /** An unsigned integer as JSON writes it, within the member's range, stored little-endian. */
  private integer(f: Member, out: Buffer, at: number): void {
    const b = this.b;
    const start = this.i;
    let v = 0;
    let i = start;
    for (let c = b[i]!; c >= ZERO && c <= NINE; c = b[++i]!) v = v * 10 + (c - ZERO);
    const digits = i - start;
    if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && b[start] === ZERO)) throw DECLINE;
    if (v < f.min || v > f.max) throw DECLINE;
    this.i = i;
    out[at] = v & 0xff;
    if (f.width === 4) {
      out[at + 1] = (v >>> 8) & 0xff;
      out[at + 2] = (v >>> 16) & 0xff;
      out[at + 3] = v >>> 24;
    }
  }

  /** A prefix string, written as its LPM key at `at`. */
  private prefix(out: Buffer, at: number): void {
    if (this.b[this.i] !== QUOTE) throw DECLINE;
    const start = this.i + 1;
    const length = this.string();
    if (length > MAP_LIMITS.text) throw DECLINE;
    if (ipv4Prefix(this.b, start, start + length, out, at)) return;
    for (let j = start; j < start + length; j++) if (this.b[j]! >= 0x80) throw DECLINE;
    if (writePrefix(this.b.toString("latin1", start, start + length), out, at) !== undefined) throw DECLINE;
  }

  /**
   * A string from its opening quote through its closing one, returning its
   * length in bytes. It ends at the next quote: the caller declines maps
   * holding a backslash, so none is escaped. A control character would be
   * no JSON.
   */
  private string(): number {
    const b = this.b;
    if (b[this.i] !== QUOTE) throw DECLINE;
    const start = this.i + 1;
    let close = start;
    for (let c = b[close]; c !== QUOTE; c = b[++close]) if (c === undefined || c < SPACE) throw DECLINE;
    this.i = close + 1;
    return close - start;
  }

  private expect(c: number): void {
    if (this.b[this.i] !== c) throw DECLINE;
    this.i++;
  }

  private literal(text: Buffer): void {
    const b = this.b;
    for (let j = 0; j < text.length; j++) if (b[this.i + j] !== text[j]) throw DECLINE;
    this.i += text.length;
  }
}
