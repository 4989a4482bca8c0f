import { z } from "zod";
import { decode, schemas } from "../../../sdk/abi/codec";
import { CAPACITY, MAP_NAMES } from "../../../sdk/abi/constants";
import { LAYOUTS } from "../../../sdk/abi/layout";
import { writeAddress } from "./key-bytes";

/** A field value as NodeProgram map entries carry it. */
export type Scalar = number | string;

/**
 * How one key or value struct of a policy map is written in a NodeProgram
 * entry (C member names, as the compilers emit: `{ app_id: 7 }`) and in the
 * map's bytes. Checks are plain range tests taken once from the sdk/abi
 * schemas, so 100k entries do not each go through a zod parse.
 */
export interface EntryCodec {
  readonly size: number;
  /** Member names a program may set. */
  readonly fields: readonly string[];
  /** Where each member is stored: offset, width (0: a prefix string) and range. */
  readonly layout: readonly FieldLayout[];
  /** Why `raw` cannot be stored in `field`, or undefined when it can. */
  check(field: string, raw: unknown): string | undefined;
  /**
   * Writes the record's bytes at `at` (a field left out is 0) and returns how
   * many fields it wrote, or -1 when `check` refuses one of them. Allocates
   * nothing: a program may carry 100k entries.
   */
  write(record: Readonly<Record<string, unknown>>, out: Buffer, at: number): number;
  decode(bytes: Buffer): Record<string, Scalar>;
}

export interface FieldLayout {
  readonly name: string;
  readonly offset: number;
  readonly width: 0 | 1 | 4;
  readonly min: number;
  readonly max: number;
}

interface NumberField extends FieldLayout {
  readonly width: 1 | 4;
}

function rangeCheck(f: NumberField, raw: unknown): string | undefined {
  if (typeof raw !== "number" || !Number.isInteger(raw)) return "expected an integer";
  if (raw < f.min || raw > f.max) return `${raw} is outside ${f.min}..${f.max}`;
  return undefined;
}

function numberCodec(size: number, fields: readonly NumberField[]): EntryCodec {
  const byName = new Map(fields.map((f) => [f.name, f]));
  return {
    size,
    fields: fields.map((f) => f.name),
    layout: fields,
    check(field, raw) {
      const f = byName.get(field);
      if (!f) return `unknown field (expected ${fields.map((x) => x.name).join(", ")})`;
      return rangeCheck(f, raw);
    },
    write(record, out, at) {
      // Plain byte stores: this runs twice per entry, and Buffer.fill and
      // writeUInt32LE validate their arguments on every call.
      for (let i = at; i < at + size; i++) out[i] = 0;
      let written = 0;
      for (const name in record) {
        const f = byName.get(name);
        const v = record[name];
        if (!f || typeof v !== "number" || !Number.isInteger(v) || v < f.min || v > f.max) return -1;
        const o = at + f.offset;
        out[o] = v & 0xff;
        if (f.width === 4) {
          out[o + 1] = (v >>> 8) & 0xff;
          out[o + 2] = (v >>> 16) & 0xff;
          out[o + 3] = v >>> 24;
        }
        written++;
      }
      return written;
    },
    decode(bytes) {
      const out: Record<string, Scalar> = {};
      for (const f of fields)
        out[f.name] = f.width === 1 ? bytes.readUInt8(f.offset) : bytes.readUInt32LE(f.offset);
      return out;
    },
  };
}

/** A struct of fos1.h whose members are all u8/u32 (the policy map keys and values). */
function structCodec(struct: "qosClass" | "appPolicy" | "routeKey" | "routeTarget"): EntryCodec {
  const layout = LAYOUTS[struct];
  const shape = schemas[struct].shape as Record<string, z.ZodNumber>;
  const fields: NumberField[] = [];
  for (const f of layout.fields) {
    if (f.kind === "pad") continue;
    if (f.kind !== "u8" && f.kind !== "u32") throw new Error(`${layout.c}.${f.c}: not a u8/u32 member`);
    const schema = shape[f.ts]!;
    fields.push({
      name: f.c,
      offset: f.offset,
      width: f.kind === "u8" ? 1 : 4,
      min: schema.minValue ?? 0,
      max: schema.maxValue ?? (f.kind === "u8" ? 0xff : 0xffffffff),
    });
  }
  return numberCodec(layout.size, fields);
}

/** A bare __u32 key or value, named as the compilers name it (`class_id`, `app_id`, `id`). */
function u32Codec(name: string): EntryCodec {
  return numberCodec(4, [{ name, offset: 0, width: 4, min: 0, max: 0xffffffff }]);
}

/**
 * Writes the LPM-trie key of `ADDRESS/LENGTH` at `at` (IPv4 /n stored as
 * /(96+n) of the mapped address, host bits refused as sdk/abi `lpmPrefix`
 * does), or returns the reason it is not one. Written without zod: a program
 * may carry 16k prefixes.
 */
export function writePrefix(text: string, out: Buffer, at: number): string | undefined {
  const slash = text.indexOf("/");
  const len = slash < 0 ? -1 : prefixLength(text, slash + 1);
  if (len < 0) return `${JSON.stringify(text)}: expected ADDRESS/LENGTH`;
  const addr = at + 4;
  try {
    writeAddress(text.slice(0, slash), out, addr);
  } catch (error) {
    return (error as Error).message;
  }
  let v4 = out[addr + 10] === 0xff && out[addr + 11] === 0xff;
  for (let i = addr; v4 && i < addr + 10; i++) v4 = out[i] === 0;
  if (len > (v4 ? 32 : 128)) return `${JSON.stringify(text)}: prefix length ${len} is too long`;
  const prefixlen = v4 ? 96 + len : len;
  for (let bit = prefixlen; bit < 128; bit++) {
    if (out[addr + (bit >> 3)]! & (0x80 >> (bit & 7)))
      return `${JSON.stringify(text)}: host bits set beyond /${len}`;
  }
  out[at] = prefixlen;
  out[at + 1] = out[at + 2] = out[at + 3] = 0;
  return undefined;
}

/** The decimal of one to three digits from `from` to the end of `text`, or -1. */
function prefixLength(text: string, from: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3) return -1;
  let len = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    len = len * 10 + c;
  }
  return len;
}

const LPM_KEY_SIZE = LAYOUTS.lpmKey.size;

/** Where `check` writes a prefix it only tests. */
const checked = Buffer.alloc(LPM_KEY_SIZE);

/** An LPM-trie key written as `{ prefix: "10.10.200.0/24" }`. */
const prefixCodec: EntryCodec = {
  size: LPM_KEY_SIZE,
  fields: ["prefix"],
  layout: [{ name: "prefix", offset: 0, width: 0, min: 0, max: 0 }],
  check(field, raw) {
    if (field !== "prefix") return "unknown field (expected prefix)";
    if (typeof raw !== "string") return "expected a prefix such as 10.0.0.0/8";
    return writePrefix(raw, checked, 0);
  },
  write(record, out, at) {
    for (let i = at; i < at + LPM_KEY_SIZE; i++) out[i] = 0;
    let written = 0;
    for (const field in record) {
      const raw = record[field];
      if (field !== "prefix" || typeof raw !== "string" || writePrefix(raw, out, at) !== undefined) return -1;
      written++;
    }
    return written;
  },
  decode(bytes) {
    const { prefixlen, addr } = decode("lpmKey", bytes);
    return { prefix: `${addr}/${addr.includes(".") ? prefixlen - 96 : prefixlen}` };
  },
};

/** A map the compilers fill from policy: every entry is owned by the programs that name its key. */
export interface PolicyMap {
  readonly name: (typeof MAP_NAMES)[keyof typeof MAP_NAMES];
  readonly key: EntryCodec;
  readonly value: EntryCodec;
  readonly capacity: number;
  /**
   * When a change writes the map's upserts: every map of a stage after every
   * map of the stages before (what others refer to first), the maps of one
   * stage at once.
   */
  readonly stage: 0 | 1 | 2;
}

const prefixMap = (name: PolicyMap["name"]): PolicyMap => ({
  name,
  key: prefixCodec,
  value: u32Codec("id"),
  capacity: CAPACITY.prefixes,
  stage: 2,
});

/**
 * The policy maps, in the order a change writes them: the classes, then what
 * names them (the application policy) and the rules keyed by segment id,
 * then the prefixes, segments among them, that assign those ids.
 */
export const POLICY_MAPS: readonly PolicyMap[] = [
  {
    name: MAP_NAMES.qosClasses,
    key: u32Codec("class_id"),
    value: structCodec("qosClass"),
    capacity: CAPACITY.policy,
    stage: 0,
  },
  {
    name: MAP_NAMES.appPolicy,
    key: u32Codec("app_id"),
    value: structCodec("appPolicy"),
    capacity: CAPACITY.policy,
    stage: 1,
  },
  {
    name: MAP_NAMES.routePolicy,
    key: structCodec("routeKey"),
    value: structCodec("routeTarget"),
    capacity: CAPACITY.policy,
    stage: 1,
  },
  {
    name: MAP_NAMES.appDeny,
    key: structCodec("routeKey"),
    value: u32Codec("rule"),
    capacity: CAPACITY.policy,
    stage: 1,
  },
  prefixMap(MAP_NAMES.segments),
  prefixMap(MAP_NAMES.inspectSelect),
  prefixMap(MAP_NAMES.critical),
  prefixMap(MAP_NAMES.watch),
];

/** Maps a program may not name in spec.maps, and why. */
export const NOT_POLICY: Readonly<Record<string, string>> = {
  [MAP_NAMES.config]: "node-wide settings are set through spec.config",
  [MAP_NAMES.flows]: "flow state is the agent's runtime state, not policy",
  [MAP_NAMES.blockSrc]: "blocks are the agent's runtime state, not policy",
  [MAP_NAMES.blockDst]: "blocks are the agent's runtime state, not policy",
  [MAP_NAMES.blockFlow]: "blocks are the agent's runtime state, not policy",
  [MAP_NAMES.appDest]: "the application -> destination cache is the agent's runtime state, not policy",
  [MAP_NAMES.stats]: "statistics are written by the programs",
};

/** A key's record as a drift path element: `app_id=7`, `segment_id=0,app_id=8`, `prefix=10.0.0.0/8`. */
export function keyLabel(codec: EntryCodec, record: Readonly<Record<string, Scalar>>): string {
  return codec.fields.map((f) => `${f}=${record[f]}`).join(",");
}
