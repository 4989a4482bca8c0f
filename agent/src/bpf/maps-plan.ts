import type { MapEntry, NodeProgram } from "../../../sdk/compile/node-program";
import { ConflictError, type ProgramDrift } from "../reconcile/reconciler";
import { configPatch, desiredConfig, diffConfig, type DesiredConfig } from "./config-settings";
import { encodedMapsOf, mapSizes, type EncodedMap } from "./encoded-maps";
import { KeyIndex, sameBytes } from "./key-index";
import type { MapDump } from "./native";
import {
  keyLabel,
  NOT_POLICY,
  POLICY_MAPS,
  type EntryCodec,
  type PolicyMap,
  type Scalar,
} from "./policy-maps";

/** A program's entry in its `spec.maps.<map>` list. */
export interface EntryRef {
  readonly program: string;
  readonly index: number;
}

/** One key of a policy map as every program naming it asks for it. */
export interface DesiredEntry {
  /** Where the key and merged value sit in their DesiredMap's `keyBytes` and `valueBytes`. */
  readonly slot: number;
  /** The key's bytes (`byteString`). */
  readonly key: string;
  /** The key as a drift path element: `app_id=7`. */
  readonly label: string;
  /** Merged value fields; a field no program sets is 0. */
  readonly values: Readonly<Record<string, Scalar>>;
  /** The merged value's bytes (`byteString`). */
  readonly value: string;
  /** Who set each field. */
  readonly owners: Readonly<Record<string, EntryRef>>;
  /** Every program naming the key: a missing entry is drift for each of them. */
  readonly declaredBy: readonly EntryRef[];
}

export type PolicyMapName = PolicyMap["name"];

/** Per policy map, its desired entries. Maps no program names must be empty. */
export type DesiredPolicyMaps = ReadonlyMap<PolicyMapName, DesiredMap>;

export interface MapsDesired {
  readonly maps: DesiredPolicyMaps;
  readonly config: DesiredConfig;
}

/** What the policy maps and fos1_config hold: per map, its dump as the kernel gave it. */
export interface MapsActual {
  readonly maps: ReadonlyMap<PolicyMapName, MapDump>;
  readonly config: Buffer;
}

/** One map's writes: keys and values to write, and keys to delete, each back to back. */
export interface MapWrites {
  readonly map: PolicyMap;
  readonly upsertKeys: Buffer;
  readonly upsertValues: Buffer;
  readonly upserts: number;
  readonly deleteKeys: Buffer;
  readonly deletes: number;
}

/** The writes that make the kernel hold a desired state; `count` is entries written or deleted. */
export interface MapsWrites {
  readonly maps: readonly MapWrites[];
  readonly config?: { readonly patch: Buffer; readonly mask: Buffer };
  readonly count: number;
}

const BY_NAME = new Map(POLICY_MAPS.map((m) => [m.name as string, m]));

/**
 * Bytes as a string of one latin1 char per byte. Keys are kept this way to
 * key Maps: strings compare and hash directly, small Buffers do not.
 */
export const byteString = (bytes: Buffer): string => bytes.toString("latin1");

/** Where a value is encoded to be checked before it merges into a key's; larger than any policy value. */
const scratch = Buffer.alloc(64);

/** The reason `codec.write` refused a record, with its path, as the codec's `check` words it. */
function refusal(codec: EntryCodec, record: Readonly<Record<string, unknown>>, path: string): Error {
  for (const [field, raw] of Object.entries(record)) {
    const problem = codec.check(field, raw);
    if (problem) return new Error(`${path}.${field}: ${problem}`);
  }
  const missing = codec.fields.filter((f) => !(f in record));
  return new Error(`${path}: missing ${missing.join(", ")}`);
}

/**
 * Writes an entry's key or value (`part`) at `offset`; throws the refusal at
 * its path (`at[index].part`) when the codec cannot hold it or a key is
 * incomplete. The path is built only then: 100k entries need none.
 */
function encode(
  codec: EntryCodec,
  entry: MapEntry,
  part: "key" | "value",
  out: Buffer,
  offset: number,
  at: string,
  index: number,
): void {
  const record = entry[part];
  const written = codec.write(record, out, offset);
  if (written < 0 || (part === "key" && written !== codec.fields.length)) {
    throw refusal(codec, record, `${at}[${index}].${part}`);
  }
}

/** The fields of a key that more than one entry names, as merged so far. */
interface Merged {
  readonly values: Record<string, Scalar>;
  readonly owners: Record<string, EntryRef>;
  readonly declaredBy: EntryRef[];
}

/**
 * One policy map's desired entries: every key and merged value back to back
 * in slot order, as a batch write takes them (a first apply hands these to
 * the kernel without copying an entry), found by their key bytes through an
 * index. Almost every key is named by one entry only, so per slot only where
 * that entry is (its program and index) is kept; merged fields and their
 * owners exist only for keys that several entries name, and a DesiredEntry
 * is built only when asked for.
 */
export class DesiredMap {
  keyBytes: Buffer;
  valueBytes: Buffer;
  private count = 0;
  private index: KeyIndex;
  /** Per slot: the program of the first entry naming the key, and that entry's index in its list. */
  private programs: NodeProgram[] = [];
  private readonly indices: Int32Array;
  private readonly merged = new Map<number, Merged>();

  /** `capacity`: how many entries the programs hold for this map, merged or not. */
  constructor(
    readonly map: PolicyMap,
    readonly capacity: number,
  ) {
    this.keyBytes = Buffer.allocUnsafe(capacity * map.key.size);
    this.valueBytes = Buffer.allocUnsafe(capacity * map.value.size);
    this.index = new KeyIndex(this.keyBytes, map.key.size, capacity);
    this.indices = new Int32Array(capacity);
  }

  /** Keys in the map. */
  get size(): number {
    return this.count;
  }

  /** The slot of the key that is the key-size bytes of `bytes` at `at`, or -1. */
  slotOf(bytes: Buffer, at: number): number {
    return this.index.find(bytes, at);
  }

  /** The key at `slot` as every program naming it asks for it. */
  entry(slot: number): DesiredEntry {
    const { key, value } = this.map;
    const first = this.first(slot);
    const merged = this.merged.get(slot);
    const ref = { program: this.programs[slot]!.metadata.name, index: this.indices[slot]! };
    return {
      slot,
      key: this.keyBytes.toString("latin1", slot * key.size, (slot + 1) * key.size),
      label: keyLabel(key, first.key),
      values: merged?.values ?? first.value,
      value: this.valueBytes.toString("latin1", slot * value.size, (slot + 1) * value.size),
      owners: merged?.owners ?? Object.fromEntries(Object.keys(first.value).map((f) => [f, ref])),
      declaredBy: merged?.declaredBy ?? [ref],
    };
  }

  /**
   * Adds a program's entry `at[index]`. Its key is written at the next free
   * slot and stays there only if no entry had that key yet; otherwise its
   * value fields merge into the key's. Throws as `encode` does, and a
   * ConflictError when two entries set one field differently.
   */
  add(entry: MapEntry, program: NodeProgram, at: string, index: number): void {
    const { key, value } = this.map;
    const slot = this.count;
    encode(key, entry, "key", this.keyBytes, slot * key.size, at, index);
    const held = this.index.insert(slot);
    if (held === slot) {
      encode(value, entry, "value", this.valueBytes, slot * value.size, at, index);
      this.keep(program, index);
      return;
    }
    encode(value, entry, "value", scratch, 0, at, index);
    this.merge(held, entry, { program: program.metadata.name, index }, `${at}[${index}]`);
  }

  /**
   * Adds entry `index` of a program's map whose entries came encoded (and
   * checked), as `add` does. The entry itself is read from `spec.maps` only
   * when its key is already held and the values merge.
   */
  addEncoded(from: EncodedMap, program: NodeProgram, at: string, index: number): void {
    const { key, value } = this.map;
    const slot = this.count;
    copyBytes(from.keys, index * key.size, this.keyBytes, slot * key.size, key.size);
    const held = this.index.insert(slot);
    if (held === slot) {
      copyBytes(from.values, index * value.size, this.valueBytes, slot * value.size, value.size);
      this.keep(program, index);
      return;
    }
    const entry = program.spec.maps[this.map.name]![index]!;
    this.merge(held, entry, { program: program.metadata.name, index }, `${at}[${index}]`);
  }

  /**
   * Takes a map that came encoded with its key index (every key there once)
   * as all of this map's entries, when they are: the slots, owners and bytes
   * that adding each entry with `addEncoded` gives, without hashing a key
   * again. False, with nothing taken, when the map has no index or other
   * entries come to this map too.
   */
  adopt(from: EncodedMap, program: NodeProgram): boolean {
    if (!from.index || this.count !== 0 || from.count !== this.capacity) return false;
    from.keys.copy(this.keyBytes);
    from.values.copy(this.valueBytes);
    this.index = KeyIndex.adopt(this.keyBytes, this.map.key.size, from.index.slice());
    this.programs = new Array<NodeProgram>(from.count).fill(program);
    for (let i = 0; i < from.count; i++) this.indices[i] = i;
    this.count = from.count;
    return true;
  }

  private keep(program: NodeProgram, index: number): void {
    this.programs.push(program);
    this.indices[this.count] = index;
    this.count++;
  }

  /** The first entry naming the key at `slot`, as its program wrote it. */
  private first(slot: number): MapEntry {
    return this.programs[slot]!.spec.maps[this.map.name]![this.indices[slot]!]!;
  }

  /** Drops the room left by keys that merged into others. */
  seal(): void {
    this.keyBytes = this.keyBytes.subarray(0, this.count * this.map.key.size);
    this.valueBytes = this.valueBytes.subarray(0, this.count * this.map.value.size);
  }

  private merge(slot: number, entry: MapEntry, ref: EntryRef, path: string): void {
    let merged = this.merged.get(slot);
    if (!merged) {
      const { values, owners, declaredBy } = this.entry(slot);
      merged = { values: { ...values }, owners: { ...owners }, declaredBy: [...declaredBy] };
      this.merged.set(slot, merged);
    }
    const { values, owners, declaredBy } = merged;
    const map = this.map;
    declaredBy.push(ref);
    for (const [field, value] of Object.entries(entry.value)) {
      const owner = owners[field];
      if (!owner) {
        values[field] = value;
        owners[field] = ref;
      } else if (values[field] !== value) {
        const label = keyLabel(map.key, this.first(slot).key);
        throw new ConflictError(
          `${path}.value.${field}`,
          `${map.name}[${label}].${field}: program "${ref.program}" sets ${value}; program ` +
            `"${owner.program}" already sets ${values[field]} (spec.maps.${map.name}[${owner.index}])`,
        );
      }
    }
    map.value.write(values, this.valueBytes, slot * map.value.size);
  }
}

/**
 * Pure: the policy maps for a set of programs. Entries for the same key merge
 * field by field (QoS sets `class_id` of an application, the fast path its
 * `flags`); two programs setting one field differently is a ConflictError.
 * An entry the maps cannot hold (unknown map or field, a value out of range,
 * more entries than the map's capacity) throws an Error starting with its path.
 */
export function desiredPolicyMaps(programs: readonly NodeProgram[]): DesiredPolicyMaps {
  const entries = new Map<string, number>();
  for (const program of programs) {
    for (const [name, count] of mapSizes(program)) entries.set(name, (entries.get(name) ?? 0) + count);
  }
  const maps = new Map(POLICY_MAPS.map((m) => [m.name, new DesiredMap(m, entries.get(m.name) ?? 0)]));
  const withinCapacity = (into: DesiredMap, at: string) => {
    if (into.size > into.map.capacity) {
      throw new Error(
        `${at}: ${into.size} entries on this node exceed the map's capacity of ${into.map.capacity}`,
      );
    }
  };
  for (const program of programs) {
    const encoded = encodedMapsOf(program);
    if (encoded) {
      for (const from of encoded.values()) {
        const at = `spec.maps.${from.map.name}`;
        const into = maps.get(from.map.name)!;
        if (!into.adopt(from, program)) {
          for (let index = 0; index < from.count; index++) into.addEncoded(from, program, at, index);
        }
        withinCapacity(into, at);
      }
      continue;
    }
    for (const [name, list] of Object.entries(program.spec.maps)) {
      const at = `spec.maps.${name}`;
      const map = BY_NAME.get(name);
      if (!map) throw new Error(`${at}: ${NOT_POLICY[name] ?? "no such map in fos1.h"}`);
      const into = maps.get(map.name)!;
      for (let index = 0; index < list.length; index++) into.add(list[index]!, program, at, index);
      withinCapacity(into, at);
    }
  }
  for (const map of maps.values()) map.seal();
  return maps;
}

/** Pure: the policy maps and fos1_config for a set of programs (desiredPolicyMaps, then desiredConfig). */
export function desiredMaps(
  programs: readonly NodeProgram[],
  ifindex: (name: string) => number,
): MapsDesired {
  return { maps: desiredPolicyMaps(programs), config: desiredConfig(programs, ifindex) };
}

/** The fields a program set in an entry, as it wrote them. */
function ownedBy(entry: DesiredEntry, program: string): Record<string, Scalar> {
  return Object.fromEntries(
    Object.entries(entry.owners)
      .filter(([, o]) => o.program === program)
      .map(([f]) => [f, entry.values[f]!]),
  );
}

/**
 * Pure: where the kernel differs from the programs, as drift of the program
 * owning the entry or field (`spec.maps.fos1_app_policy[app_id=7].class_id`).
 * Entries no program owns are removed by apply but are nobody's drift.
 */
export function diffMaps(desired: MapsDesired, actual: MapsActual): ProgramDrift[] {
  const drift: ProgramDrift[] = [];
  for (const map of POLICY_MAPS) {
    const vs = map.value.size;
    const dump = actual.maps.get(map.name);
    const want = desired.maps.get(map.name);
    if (!want) continue;
    const have = dump ? KeyIndex.of(dump.keys, map.key.size, dump.count) : undefined;
    for (let slot = 0; slot < want.size; slot++) {
      const i = have ? have.find(want.keyBytes, slot * map.key.size) : -1;
      if (i >= 0 && sameBytes(dump!.values, i * vs, want.valueBytes, slot * vs, vs)) continue;
      const entry = want.entry(slot);
      const at = `spec.maps.${map.name}[${entry.label}]`;
      if (i < 0) {
        for (const { program } of entry.declaredBy)
          drift.push({ program, path: at, expected: ownedBy(entry, program), actual: null });
        continue;
      }
      const got = map.value.decode(dump!.values.subarray(i * vs, (i + 1) * vs));
      for (const [field, owner] of Object.entries(entry.owners)) {
        if (got[field] !== entry.values[field]) {
          drift.push({
            program: owner.program,
            path: `${at}.${field}`,
            expected: entry.values[field],
            actual: got[field],
          });
        }
      }
    }
  }
  drift.push(...diffConfig(desired.config, actual.config));
  return drift;
}

/** Copies `size` bytes; a loop beats a native call at 4-20 bytes, as in `sameBytes`. */
function copyBytes(from: Buffer, at: number, to: Buffer, toAt: number, size: number): void {
  for (let i = 0; i < size; i++) to[toAt + i] = from[at + i]!;
}

/** The entries of `from` at `indices` (of `size` bytes each), back to back. */
function gather(from: Buffer, indices: readonly number[], size: number): Buffer {
  const out = Buffer.allocUnsafe(indices.length * size);
  indices.forEach((index, i) => from.copy(out, i * size, index * size, (index + 1) * size));
  return out;
}

/**
 * One map's writes: the desired entries the dump lacks or holds with other
 * bytes, and the dumped keys no program asks for; undefined when none.
 */
function planMap(
  map: PolicyMap,
  want: DesiredMap | undefined,
  have: MapDump | undefined,
): MapWrites | undefined {
  const ks = map.key.size;
  const vs = map.value.size;
  const wanted = want?.size ?? 0;
  const held = have?.count ?? 0;
  if (wanted === 0 && held === 0) return undefined;
  if (held === 0) {
    const none = Buffer.alloc(0);
    return {
      map,
      upsertKeys: want!.keyBytes,
      upsertValues: want!.valueBytes,
      upserts: wanted,
      deleteKeys: none,
      deletes: 0,
    };
  }
  // Per desired slot: 1 once the kernel is seen holding it with the same bytes.
  const holds = new Uint8Array(wanted);
  const deletes: number[] = [];
  for (let i = 0; i < held; i++) {
    const slot = want ? want.slotOf(have!.keys, i * ks) : -1;
    if (slot < 0) deletes.push(i);
    else if (sameBytes(have!.values, i * vs, want!.valueBytes, slot * vs, vs)) holds[slot] = 1;
  }
  const upserts: number[] = [];
  for (let slot = 0; slot < wanted; slot++) if (holds[slot] === 0) upserts.push(slot);
  if (upserts.length + deletes.length === 0) return undefined;
  return {
    map,
    upsertKeys: gather(want!.keyBytes, upserts, ks),
    upsertValues: gather(want!.valueBytes, upserts, vs),
    upserts: upserts.length,
    deleteKeys: gather(have!.keys, deletes, ks),
    deletes: deletes.length,
  };
}

/**
 * Pure: only the entries that differ (upserts), those no program owns
 * (deletes), and fos1_config if it differs. Maps in `verified` are known to
 * hold their desired entries already and are not compared.
 */
export function planWrites(
  desired: MapsDesired,
  actual: MapsActual,
  verified: ReadonlySet<PolicyMapName> = new Set(),
): MapsWrites {
  let count = 0;
  const maps: MapWrites[] = [];
  for (const map of POLICY_MAPS) {
    if (verified.has(map.name)) continue;
    const writes = planMap(map, desired.maps.get(map.name), actual.maps.get(map.name));
    if (!writes) continue;
    count += writes.upserts + writes.deletes;
    maps.push(writes);
  }
  const config = configPatch(desired.config, actual.config);
  return config ? { maps, config, count: count + 1 } : { maps, count };
}
