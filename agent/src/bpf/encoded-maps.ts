import type { NodeProgram } from "../../../sdk/compile/node-program";
import type { PolicyMap } from "./policy-maps";

/** One map of a program: its entries' keys and values as the kernel stores them, back to back in list order. */
export interface EncodedMap {
  readonly map: PolicyMap;
  readonly count: number;
  readonly keys: Buffer;
  readonly values: Buffer;
  /** KeyIndex's table of `keys`, when every key is there once (`KeyIndex.adopt`). */
  readonly index?: Int32Array;
}

/** A program's maps, encoded, in the order of `spec.maps`. */
export type EncodedMaps = ReadonlyMap<PolicyMap["name"], EncodedMap>;

/** Programs whose maps were encoded as their body was read; the program object is the key, so a copy has none. */
const encoded = new WeakMap<NodeProgram, EncodedMaps>();

/**
 * Records that `program.spec.maps` encodes to `maps`, entry by entry, as the
 * codecs of policy-maps.ts write them (the API's reader wrote them while it
 * read the body), so merging the policy maps need not encode 100k entries again.
 */
export function setEncodedMaps(program: NodeProgram, maps: EncodedMaps): void {
  encoded.set(program, maps);
}

export function encodedMapsOf(program: NodeProgram): EncodedMaps | undefined {
  return encoded.get(program);
}

/** Entries per map of a program, in `spec.maps` order, read from its encoded maps when it has them. */
export function mapSizes(program: NodeProgram): [string, number][] {
  const maps = encoded.get(program);
  if (maps) return [...maps.values()].map((m) => [m.map.name, m.count]);
  return Object.entries(program.spec.maps).map(([name, list]) => [name, list.length]);
}
