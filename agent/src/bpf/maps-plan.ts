import type { MapEntry, NodeProgram } from "../../../sdk/compile/node-program";
import { ConflictError, type ProgramDrift } from "../reconcile/reconciler";
import { configPatch, desiredConfig, diffConfig, type DesiredConfig } from "./config-settings";
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

/**
 * One policy map's entries by key bytes, with every key and merged value
 * also back to back in slot order, as a batch write takes them: a first
 * apply hands these to the kernel without copying an entry.
 */
export interface DesiredMap extends ReadonlyMap<string, DesiredEntry> {
  readonly keyBytes: Buffer;
  readonly valueBytes: Buffer;
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

/** A policy map's desired entries as they are merged, program by program. */
class MergingMap extends Map<string, MergedEntry> implements DesiredMap {
  keyBytes: Buffer;
  valueBytes: Buffer;

  constructor(
    readonly map: PolicyMap,
    capacity: number,
  ) {
    super();
    this.keyBytes = Buffer.allocUnsafe(capacity * map.key.size);
    this.valueBytes = Buffer.allocUnsafe(capacity * map.value.size);
  }

  /** Drops the room left by keys that merged into others. */
  seal(): void {
    this.keyBytes = this.keyBytes.subarray(0, this.size * this.map.key.size);
    this.valueBytes = this.valueBytes.subarray(0, this.size * this.map.value.size);
  }
}

/**
 * A key as merged so far. Almost every key is named by one program only, so
 * that program's entry is used as it is, and merged fields with per-field
 * owners are built only when a second entry names the key.
 */
class MergedEntry implements DesiredEntry {
  private merged?: {
    readonly values: Record<string, Scalar>;
    readonly owners: Record<string, EntryRef>;
    readonly declaredBy: EntryRef[];
  };

  constructor(
    private readonly into: MergingMap,
    readonly slot: number,
    readonly key: string,
    private readonly first: MapEntry,
    private readonly firstProgram: string,
    private readonly firstIndex: number,
  ) {}

  get label(): string {
    return keyLabel(this.into.map.key, this.first.key);
  }

  get value(): string {
    const size = this.into.map.value.size;
    return this.into.valueBytes.toString("latin1", this.slot * size, (this.slot + 1) * size);
  }

  get values(): Readonly<Record<string, Scalar>> {
    return this.merged?.values ?? this.first.value;
  }

  get owners(): Readonly<Record<string, EntryRef>> {
    if (this.merged) return this.merged.owners;
    const ref = this.firstRef();
    return Object.fromEntries(Object.keys(this.first.value).map((f) => [f, ref]));
  }

  get declaredBy(): readonly EntryRef[] {
    return this.merged?.declaredBy ?? [this.firstRef()];
  }

  /** Adds another entry for this key (checked already, at `path`); two entries setting one field differently conflict. */
  merge(entry: MapEntry, ref: EntryRef, path: string): void {
    this.merged ??= {
      values: { ...this.first.value },
      owners: { ...this.owners },
      declaredBy: [this.firstRef()],
    };
    const { values, owners, declaredBy } = this.merged;
    const map = this.into.map;
    declaredBy.push(ref);
    for (const [field, value] of Object.entries(entry.value)) {
      const owner = owners[field];
      if (!owner) {
        values[field] = value;
        owners[field] = ref;
      } else if (values[field] !== value) {
        throw new ConflictError(
          `${path}.value.${field}`,
          `${map.name}[${this.label}].${field}: program "${ref.program}" sets ${value}; program ` +
            `"${owner.program}" already sets ${values[field]} (spec.maps.${map.name}[${owner.index}])`,
        );
      }
    }
    map.value.write(values, this.into.valueBytes, this.slot * map.value.size);
  }

  private firstRef(): EntryRef {
    return { program: this.firstProgram, index: this.firstIndex };
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
    for (const [name, list] of Object.entries(program.spec.maps))
      entries.set(name, (entries.get(name) ?? 0) + list.length);
  }
  const maps = new Map(POLICY_MAPS.map((m) => [m.name, new MergingMap(m, entries.get(m.name) ?? 0)]));
  for (const program of programs) {
    const owner = program.metadata.name;
    for (const [name, list] of Object.entries(program.spec.maps)) {
      const at = `spec.maps.${name}`;
      const map = BY_NAME.get(name);
      if (!map) throw new Error(`${at}: ${NOT_POLICY[name] ?? "no such map in fos1.h"}`);
      const into = maps.get(map.name)!;
      const ks = map.key.size;
      const vs = map.value.size;
      for (let index = 0; index < list.length; index++) {
        const entry = list[index]!;
        // The key is written at the next free slot; it stays there only if no entry had it yet.
        const slot = into.size;
        encode(map.key, entry, "key", into.keyBytes, slot * ks, at, index);
        const key = into.keyBytes.toString("latin1", slot * ks, (slot + 1) * ks);
        const known = into.get(key);
        if (known) {
          encode(map.value, entry, "value", scratch, 0, at, index);
          known.merge(entry, { program: owner, index }, `${at}[${index}]`);
        } else {
          encode(map.value, entry, "value", into.valueBytes, slot * vs, at, index);
          into.set(key, new MergedEntry(into, slot, key, entry, owner, index));
        }
      }
      if (into.size > map.capacity) {
        throw new Error(
          `${at}: ${into.size} entries on this node exceed the map's capacity of ${map.capacity}`,
        );
      }
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

/** A dump's entries by key bytes (`byteString`): their index in the dump. */
function dumpIndex(dump: MapDump | undefined, keySize: number): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = 0; i < (dump?.count ?? 0); i++)
    index.set(dump!.keys.toString("latin1", i * keySize, (i + 1) * keySize), i);
  return index;
}

/** True when `a` from `at` and `b` from `bt` hold the same `size` bytes; a loop beats a native call at 4-8 bytes. */
function sameBytes(a: Buffer, at: number, b: Buffer, bt: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
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
    const have = dumpIndex(dump, map.key.size);
    const want = desired.maps.get(map.name);
    for (const [id, entry] of want ?? []) {
      const i = have.get(id);
      if (i !== undefined && sameBytes(dump!.values, i * vs, want!.valueBytes, entry.slot * vs, vs)) continue;
      const at = `spec.maps.${map.name}[${entry.label}]`;
      if (i === undefined) {
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
    const entry = want?.get(have!.keys.toString("latin1", i * ks, (i + 1) * ks));
    if (!entry) deletes.push(i);
    else if (sameBytes(have!.values, i * vs, want!.valueBytes, entry.slot * vs, vs)) holds[entry.slot] = 1;
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
