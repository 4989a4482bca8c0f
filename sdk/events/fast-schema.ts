import type { z } from "zod";

/**
 * A zod schema compiled, once at module load, into a plain reader for the
 * lines that pass it. The schema stays the one definition of a record: the
 * reader only answers for values it can vouch for, with the output zod would
 * give, and leaves everything else (rejections with their messages,
 * transforms, types it does not know) to zod itself. Zod's general machinery
 * costs more per line than JSON.parse; sensors write thousands of lines a second.
 */

/** The value certainly fails the schema (so a union tries its next option). */
const FAIL = Symbol("fail");
/** The reader cannot tell: zod decides. */
const UNSURE = Symbol("unsure");
type Read = unknown;
type Reader = (value: unknown) => Read;
/** true: passes; false: zod rejects it; UNSURE: zod decides. */
type Check = (value: unknown) => boolean | typeof UNSURE;

interface CheckDef {
  readonly check: string;
  readonly value?: unknown;
  readonly inclusive?: boolean;
  readonly minimum?: number;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly fn?: (value: unknown) => unknown;
}

interface SchemaDef {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly innerType?: z.ZodType;
  readonly shape?: Readonly<Record<string, z.ZodType>>;
  readonly catchall?: z.ZodType;
  readonly element?: z.ZodType;
  readonly keyType?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly values?: readonly unknown[];
  readonly entries?: Readonly<Record<string, unknown>>;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/**
 * Parses with the compiled reader and falls back to `schema.safeParse`, so the
 * result always equals zod's: data when zod accepts, zod's error otherwise.
 */
export function fastSchema<S extends z.ZodType>(
  schema: S,
): (value: unknown) => z.ZodSafeParseResult<z.output<S>> {
  const read = compile(schema);
  return (value) => {
    const data = read(value);
    if (data === FAIL || data === UNSURE) return schema.safeParse(value);
    return { success: true, data: data as z.output<S> };
  };
}

function compile(schema: z.ZodType): Reader {
  const def = defOf(schema);
  const checkDefs = (def.checks ?? []).map((c) => c._zod.def);
  if (def.type === "number" && checkDefs.every((c) => NUMBER_BOUNDS.has(c.check)))
    return numberReader(checkDefs);
  const base = compileType(def);
  const checks = checkDefs.map(compileCheck);
  if (checks.length === 0) return base;
  if (checks.includes(undefined)) return () => UNSURE;
  const all = checks as Check[];
  return (value) => {
    const out = base(value);
    if (out === FAIL || out === UNSURE) return out;
    for (const check of all) {
      const passed = check(out);
      if (passed !== true) return passed === false ? FAIL : UNSURE;
    }
    return out;
  };
}

const NUMBER_BOUNDS = new Set(["greater_than", "less_than", "number_format"]);

/** A number with its bounds and integer check in one test: ports, counters and ids have two or three each. */
function numberReader(checks: readonly CheckDef[]): Reader {
  let min = -Infinity;
  let max = Infinity;
  let safeInteger = false;
  let floatBoundsOnly = true;
  for (const check of checks) {
    const value = check.value as number;
    if (check.check === "greater_than" && check.inclusive) min = Math.max(min, value);
    else if (check.check === "less_than" && check.inclusive) max = Math.min(max, value);
    else if (check.check === "number_format" && check.format === "safeint") safeInteger = true;
    else floatBoundsOnly = false;
  }
  if (!floatBoundsOnly) return () => UNSURE;
  return (v) =>
    typeof v === "number" &&
    v >= min &&
    v <= max &&
    (safeInteger ? Number.isSafeInteger(v) : Number.isFinite(v))
      ? v
      : FAIL;
}

function compileType(def: SchemaDef): Reader {
  switch (def.type) {
    case "string":
      return (v) => (typeof v === "string" ? v : FAIL);
    case "number":
      return (v) => (typeof v === "number" && Number.isFinite(v) ? v : FAIL);
    case "boolean":
      return (v) => (typeof v === "boolean" ? v : FAIL);
    case "unknown":
    case "any":
      return (v) => v;
    case "literal": {
      const values = def.values ?? [];
      return (v) => (values.includes(v) ? v : FAIL);
    }
    case "enum": {
      const values = new Set(Object.values(def.entries ?? {}));
      return (v) => (values.has(v) ? v : FAIL);
    }
    case "optional": {
      const inner = compile(def.innerType as z.ZodType);
      return (v) => (v === undefined ? undefined : inner(v));
    }
    case "union":
      return compileUnion((def.options ?? []).map(compile));
    case "pipe": {
      const first = compile(def.in as z.ZodType);
      const second = compile(def.out as z.ZodType);
      return (v) => {
        const mid = first(v);
        return mid === FAIL || mid === UNSURE ? mid : second(mid);
      };
    }
    case "array":
      return compileArray(compile(def.element as z.ZodType));
    case "record":
      return compileRecord(def);
    case "object":
      return compileObject(def);
    default:
      // Transforms and anything else: zod runs them.
      return () => UNSURE;
  }
}

function compileUnion(options: readonly Reader[]): Reader {
  // Zod takes the first option that accepts, so an undecided option decides nothing.
  return (v) => {
    for (const option of options) {
      const out = option(v);
      if (out !== FAIL) return out;
    }
    return FAIL;
  };
}

function compileArray(element: Reader): Reader {
  return (v) => {
    if (!Array.isArray(v)) return FAIL;
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = element(v[i]);
      if (item === FAIL || item === UNSURE) return item;
      out[i] = item;
    }
    return out;
  };
}

function compileRecord(def: SchemaDef): Reader {
  const keyDef = defOf(def.keyType as z.ZodType);
  if (keyDef.type !== "string" || (keyDef.checks?.length ?? 0) > 0) return () => UNSURE;
  const value = compile(def.valueType as z.ZodType);
  return (v) => {
    if (!isPlainObject(v)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      const item = value(v[key]);
      if (item === FAIL || item === UNSURE) return item;
      out[key] = item;
    }
    return out;
  };
}

function compileObject(def: SchemaDef): Reader {
  const fields = Object.entries(def.shape ?? {}).map(([key, schema]) => ({
    key,
    read: compile(schema),
    optional: (schema as unknown as { _zod: { optin?: string } })._zod.optin === "optional",
  }));
  const catchall = def.catchall && defOf(def.catchall).type;
  // Strict objects and typed catch-alls are left to zod.
  if (catchall !== undefined && catchall !== "unknown") return () => UNSURE;
  return (v) => {
    if (!isPlainObject(v)) return FAIL;
    const out: Record<string, unknown> = catchall === undefined ? {} : { ...v };
    for (const field of fields) {
      const raw = v[field.key];
      if (raw === undefined) {
        // A missing required key fails in zod, unless the field accepts undefined (z.unknown()).
        if (!field.optional) return UNSURE;
        continue;
      }
      const item = field.read(raw);
      if (item === FAIL || item === UNSURE) return item;
      out[field.key] = item;
    }
    return out;
  };
}

function compileCheck(def: CheckDef): Check | undefined {
  switch (def.check) {
    case "greater_than": {
      const bound = def.value as number;
      return def.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound;
    }
    case "less_than": {
      const bound = def.value as number;
      return def.inclusive ? (v) => (v as number) <= bound : (v) => (v as number) < bound;
    }
    case "number_format":
      return def.format === "safeint" ? (v) => Number.isSafeInteger(v) : undefined;
    case "min_length": {
      const minimum = def.minimum ?? 0;
      return (v) => (v as { length: number }).length >= minimum;
    }
    case "string_format": {
      const pattern = def.pattern;
      if (def.format !== "regex" || pattern === undefined) return undefined;
      return (v) => {
        pattern.lastIndex = 0;
        return pattern.test(v as string);
      };
    }
    case "custom": {
      const fn = def.fn;
      if (fn === undefined) return undefined;
      return (v) => {
        const result = fn(v);
        // A refinement that answers asynchronously is zod's to await.
        return typeof result === "boolean" ? result : UNSURE;
      };
    }
    default:
      return undefined;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
