import { MAP_LIMITS } from "../../../sdk/compile/node-program";
import type { EncodedMap, EncodedMaps } from "../bpf/encoded-maps";
import { nativeBpf } from "../bpf/native";
import {
  POLICY_MAPS,
  writePrefix,
  type EntryCodec,
  type FieldLayout,
  type PolicyMap,
} from "../bpf/policy-maps";

/** The maps' bytes as read, and where they end in the body. */
export interface CanonicalMaps {
  readonly end: number;
  readonly maps: EncodedMaps;
}

const byName = (a: { readonly name: string }, b: { readonly name: string }) => (a.name < b.name ? -1 : 1);

/** The policy maps in canonical order of their names, as the grammar lists them. */
const MAPS: readonly PolicyMap[] = [...POLICY_MAPS].sort(byName);

/**
 * The grammar agent/native/canonical_maps.c reads by, from the codecs'
 * layouts (one source for where each member is stored): the limits, then
 * per map its name, key and value sizes and its key and value members in
 * sorted order, each with its offset, width and range. Little-endian.
 */
function grammarBytes(): Buffer {
  const parts: Buffer[] = [];
  const u8 = (v: number) => parts.push(Buffer.of(v));
  const u16 = (v: number) => parts.push(Buffer.from(new Uint16Array([v]).buffer));
  const u32 = (v: number) => parts.push(Buffer.from(new Uint32Array([v]).buffer));
  const name = (text: string) => {
    u8(text.length);
    parts.push(Buffer.from(text, "latin1"));
  };
  const members = (codec: EntryCodec) =>
    [...codec.layout].sort(byName).forEach((f: FieldLayout) => {
      name(f.name);
      u16(f.offset);
      u8(f.width);
      u32(f.min);
      u32(f.max);
    });
  u32(MAP_LIMITS.note);
  u32(MAP_LIMITS.text);
  u32(MAP_LIMITS.entries);
  u8(MAPS.length);
  for (const map of MAPS) {
    name(map.name);
    u16(map.key.size);
    u16(map.value.size);
    u8(map.key.layout.length);
    u8(map.value.layout.length);
    members(map.key);
    members(map.value);
  }
  return Buffer.concat(parts);
}

let grammar: Buffer | undefined;

/**
 * Reads `spec.maps` of a PUT body from `from`, where its `{` is, straight
 * into the bytes the kernel's maps take, when the bytes are exactly what
 * canonicalJson writes for valid policy maps: no whitespace or escapes, map
 * names and members in sorted order, every map a policy map, every key and
 * value member one the map's struct has and within its range, every key
 * complete, `note` within its length (in bytes, which is never fewer than
 * its characters). JSON.parse of those bytes then gives maps that
 * `nodeProgramSpec.shape.maps` accepts unchanged, and the codecs of
 * policy-maps.ts write the bytes this returns. Undefined for anything else,
 * which is left to JSON.parse and the codecs to accept or refuse.
 *
 * The native reader writes IPv4 prefixes itself, as policy-maps.ts
 * `writePrefix` does; any other ASCII prefix it lists, and `writePrefix`
 * writes it here.
 */
export function readCanonicalMaps(bytes: Buffer, from: number): CanonicalMaps | undefined {
  grammar ??= grammarBytes();
  const read = nativeBpf().readCanonicalMaps(bytes, from, grammar);
  if (!read) return undefined;
  const encoded: EncodedMap[] = read.maps.map(([grammarIndex, count, keys, values, index]) => ({
    map: MAPS[grammarIndex]!,
    count,
    keys,
    values,
    ...(index ? { index } : {}),
  }));
  for (const [m, offset, start, length] of read.pending) {
    if (
      writePrefix(bytes.toString("latin1", start, start + length), encoded[m]!.keys, offset) !== undefined
    ) {
      return undefined;
    }
  }
  return { end: read.end, maps: new Map(encoded.map((e) => [e.map.name, e])) };
}
