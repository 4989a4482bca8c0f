import type { MapEntry, NodeProgram } from "../../../sdk/compile/node-program";
import { ConflictError, type ProgramDrift } from "../reconcile/reconciler";
import { configPatch, desiredConfig, diffConfig, type DesiredConfig } from "./config-settings";
import type { RawEntry } from "./pinned-map";
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
  readonly key: Buffer;
  /** The key as a drift path element: `app_id=7`. */
  readonly label: string;
  /** Merged value fields; a field no program sets is 0. */
  readonly values: Record<string, Scalar>;
  /** Who set each field. */
  readonly owners: Record<string, EntryRef>;
  /** Every program naming the key: a missing entry is drift for each of them. */
  readonly declaredBy: EntryRef[];
}

export type PolicyMapName = PolicyMap["name"];

export interface MapsDesired {
  /** Per policy map, entries by key bytes (latin1 string). Maps no program names must be empty. */
  readonly maps: ReadonlyMap<PolicyMapName, ReadonlyMap<string, DesiredEntry>>;
  readonly config: DesiredConfig;
}

/** What the policy maps and fos1_config hold; values by key bytes (latin1 string). */
export interface MapsActual {
  readonly maps: ReadonlyMap<PolicyMapName, ReadonlyMap<string, Buffer>>;
  readonly config: Buffer;
}

/** The writes that make the kernel hold a desired state; `count` is entries written or deleted. */
export interface MapsWrites {
  readonly maps: readonly {
    readonly map: PolicyMap;
    readonly upserts: RawEntry[];
    readonly deletes: Buffer[];
  }[];
  readonly config?: { readonly patch: Buffer; readonly mask: Buffer };
  readonly count: number;
}

const BY_NAME = new Map(POLICY_MAPS.map((m) => [m.name as string, m]));

/** Map keys are compared as their bytes; latin1 keeps one char per byte, cheaply. */
export const keyId = (key: Buffer): string => key.toString("latin1");

function checkRecord(
  codec: EntryCodec,
  record: Readonly<Record<string, Scalar>>,
  path: string,
  complete: boolean,
): void {
  for (const [field, raw] of Object.entries(record)) {
    const problem = codec.check(field, raw);
    if (problem) throw new Error(`${path}.${field}: ${problem}`);
  }
  if (complete) {
    const missing = codec.fields.filter((f) => !(f in record));
    if (missing.length > 0) throw new Error(`${path}: missing ${missing.join(", ")}`);
  }
}

function mergeEntry(
  map: PolicyMap,
  into: Map<string, DesiredEntry>,
  entry: MapEntry,
  ref: EntryRef,
  path: string,
): void {
  checkRecord(map.key, entry.key, `${path}.key`, true);
  checkRecord(map.value, entry.value, `${path}.value`, false);
  const key = map.key.encode(entry.key);
  const id = keyId(key);
  let d = into.get(id);
  if (!d) {
    d = { key, label: keyLabel(map.key, entry.key), values: {}, owners: {}, declaredBy: [] };
    into.set(id, d);
  }
  d.declaredBy.push(ref);
  for (const [field, value] of Object.entries(entry.value)) {
    const owner = d.owners[field];
    if (!owner) {
      d.values[field] = value;
      d.owners[field] = ref;
    } else if (d.values[field] !== value) {
      throw new ConflictError(
        `${path}.value.${field}`,
        `${map.name}[${d.label}].${field}: program "${ref.program}" sets ${value}; program ` +
          `"${owner.program}" already sets ${d.values[field]} (spec.maps.${map.name}[${owner.index}])`,
      );
    }
  }
}

/**
 * Pure: the policy maps and fos1_config for a set of programs. Entries for
 * the same key merge field by field (QoS sets `class_id` of an application,
 * the fast path its `flags`); two programs setting one field differently is
 * a ConflictError. An entry the maps cannot hold (unknown map or field, a
 * value out of range, more entries than the map's capacity) throws an Error
 * starting with its path.
 */
export function desiredMaps(
  programs: readonly NodeProgram[],
  ifindex: (name: string) => number,
): MapsDesired {
  const maps = new Map<PolicyMapName, Map<string, DesiredEntry>>(POLICY_MAPS.map((m) => [m.name, new Map()]));
  for (const program of programs) {
    for (const [name, entries] of Object.entries(program.spec.maps)) {
      const at = `spec.maps.${name}`;
      const map = BY_NAME.get(name);
      if (!map) throw new Error(`${at}: ${NOT_POLICY[name] ?? "no such map in fos1.h"}`);
      const into = maps.get(map.name)!;
      entries.forEach((entry, index) =>
        mergeEntry(map, into, entry, { program: program.metadata.name, index }, `${at}[${index}]`),
      );
      if (into.size > map.capacity) {
        throw new Error(
          `${at}: ${into.size} entries on this node exceed the map's capacity of ${map.capacity}`,
        );
      }
    }
  }
  return { maps, config: desiredConfig(programs, ifindex) };
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
      const at = `spec.maps.${map.name}[${entry.label}]`;
      const bytes = have?.get(id);
      if (!bytes) {
        for (const { program } of entry.declaredBy)
          drift.push({ program, path: at, expected: ownedBy(entry, program), actual: null });
        continue;
      }
      if (bytes.equals(map.value.encode(entry.values))) continue;
      const got = map.value.decode(bytes);
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
  const maps = POLICY_MAPS.map((map) => {
    const want = desired.maps.get(map.name) ?? new Map<string, DesiredEntry>();
    const have = actual.maps.get(map.name) ?? new Map<string, Buffer>();
    const upserts: RawEntry[] = [];
    for (const [id, entry] of want) {
      const value = map.value.encode(entry.values);
      const bytes = have.get(id);
      if (!bytes || !bytes.equals(value)) upserts.push({ key: entry.key, value });
    }
    const deletes: Buffer[] = [];
    for (const id of have.keys()) if (!want.has(id)) deletes.push(Buffer.from(id, "latin1"));
    count += upserts.length + deletes.length;
    return { map, upserts, deletes };
  }).filter((m) => m.upserts.length + m.deletes.length > 0);
  const config = configPatch(desired.config, actual.config);
  return config ? { maps, config, count: count + 1 } : { maps, count };
}
