import type { MapEntry, NodeProgram } from "../../../sdk/compile/node-program";
import { ConflictError, type ProgramDrift } from "../reconcile/reconciler";
import { configPatch, desiredConfig, diffConfig, type DesiredConfig } from "./config-settings";
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

/** Per policy map, entries by key bytes. Maps no program names must be empty. */
export type DesiredPolicyMaps = ReadonlyMap<PolicyMapName, ReadonlyMap<string, DesiredEntry>>;

export interface MapsDesired {
  readonly maps: DesiredPolicyMaps;
  readonly config: DesiredConfig;
}

/** What the policy maps and fos1_config hold: per map, value bytes by key bytes (`byteString`). */
export interface MapsActual {
  readonly maps: ReadonlyMap<PolicyMapName, ReadonlyMap<string, string>>;
  readonly config: Buffer;
}

/** One map's writes, as key and value bytes (`byteString`); upserted keys and values pair by index. */
export interface MapWrites {
  readonly map: PolicyMap;
  readonly upsertKeys: readonly string[];
  readonly upsertValues: readonly string[];
  readonly deletes: readonly string[];
}

/** The writes that make the kernel hold a desired state; `count` is entries written or deleted. */
export interface MapsWrites {
  readonly maps: readonly MapWrites[];
  readonly config?: { readonly patch: Buffer; readonly mask: Buffer };
  readonly count: number;
}

const BY_NAME = new Map(POLICY_MAPS.map((m) => [m.name as string, m]));

/**
 * Bytes as a string of one latin1 char per byte. Keys and values are kept
 * this way, not as Buffers: 100k small Buffers cost more to make and to
 * collect than the whole plan, and strings compare and key Maps directly.
 */
export const byteString = (bytes: Buffer): string => bytes.toString("latin1");

/** Where entries are encoded before they become byte strings; larger than any policy key or value. */
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
 * The bytes of an entry's key or value (`part`); throws the refusal at its
 * path when the codec cannot hold it or a key is incomplete. The path is
 * built only then: 100k entries need none.
 */
function encoded(
  codec: EntryCodec,
  entry: MapEntry,
  part: "key" | "value",
  at: string,
  index: number,
): string {
  const record = entry[part];
  const written = codec.write(record, scratch, 0);
  if (written < 0 || (part === "key" && written !== codec.fields.length)) {
    throw refusal(codec, record, `${at}[${index}].${part}`);
  }
  return scratch.toString("latin1", 0, codec.size);
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
    private readonly map: PolicyMap,
    readonly key: string,
    private readonly first: MapEntry,
    private readonly firstProgram: string,
    private readonly firstIndex: number,
    public value: string,
  ) {}

  get label(): string {
    return keyLabel(this.map.key, this.first.key);
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
    declaredBy.push(ref);
    for (const [field, value] of Object.entries(entry.value)) {
      const owner = owners[field];
      if (!owner) {
        values[field] = value;
        owners[field] = ref;
      } else if (values[field] !== value) {
        throw new ConflictError(
          `${path}.value.${field}`,
          `${this.map.name}[${this.label}].${field}: program "${ref.program}" sets ${value}; program ` +
            `"${owner.program}" already sets ${values[field]} (spec.maps.${this.map.name}[${owner.index}])`,
        );
      }
    }
    this.map.value.write(values, scratch, 0);
    this.value = scratch.toString("latin1", 0, this.map.value.size);
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
  const maps = new Map<PolicyMapName, Map<string, MergedEntry>>(POLICY_MAPS.map((m) => [m.name, new Map()]));
  for (const program of programs) {
    const owner = program.metadata.name;
    for (const [name, entries] of Object.entries(program.spec.maps)) {
      const at = `spec.maps.${name}`;
      const map = BY_NAME.get(name);
      if (!map) throw new Error(`${at}: ${NOT_POLICY[name] ?? "no such map in fos1.h"}`);
      const into = maps.get(map.name)!;
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index]!;
        const key = encoded(map.key, entry, "key", at, index);
        const value = encoded(map.value, entry, "value", at, index);
        const known = into.get(key);
        if (known) known.merge(entry, { program: owner, index }, `${at}[${index}]`);
        else into.set(key, new MergedEntry(map, key, entry, owner, index, value));
      }
      if (into.size > map.capacity) {
        throw new Error(
          `${at}: ${into.size} entries on this node exceed the map's capacity of ${map.capacity}`,
        );
      }
    }
  }
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
    const have = actual.maps.get(map.name);
    for (const [id, entry] of desired.maps.get(map.name) ?? []) {
      const bytes = have?.get(id);
      if (bytes === entry.value) continue;
      const at = `spec.maps.${map.name}[${entry.label}]`;
      if (bytes === undefined) {
        for (const { program } of entry.declaredBy)
          drift.push({ program, path: at, expected: ownedBy(entry, program), actual: null });
        continue;
      }
      const got = map.value.decode(Buffer.from(bytes, "latin1"));
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

/** Pure: only the entries that differ (upserts), those no program owns (deletes), and fos1_config if it differs. */
export function planWrites(desired: MapsDesired, actual: MapsActual): MapsWrites {
  let count = 0;
  const maps: MapWrites[] = [];
  for (const map of POLICY_MAPS) {
    const want = desired.maps.get(map.name) ?? new Map<string, DesiredEntry>();
    const have = actual.maps.get(map.name) ?? new Map<string, string>();
    const upsertKeys: string[] = [];
    const upsertValues: string[] = [];
    for (const [id, entry] of want) {
      if (have.get(id) !== entry.value) {
        upsertKeys.push(id);
        upsertValues.push(entry.value);
      }
    }
    const deletes: string[] = [];
    for (const id of have.keys()) if (!want.has(id)) deletes.push(id);
    if (upsertKeys.length + deletes.length === 0) continue;
    count += upsertKeys.length + deletes.length;
    maps.push({ map, upsertKeys, upsertValues, deletes });
  }
  const config = configPatch(desired.config, actual.config);
  return config ? { maps, config, count: count + 1 } : { maps, count };
}
