import type { z } from "zod";
import {
  MAP_LIMITS,
  nodeProgram,
  type NodeProgram,
  type NodeProgramSpec,
} from "../../../sdk/compile/node-program";

type Json = Record<string, unknown>;

/**
 * Parses a PUT body as `nodeProgram.safeParse` does, with the same result.
 * Zod spends microseconds on each map entry and a program may carry 100k of
 * them, so the entries are checked by `mapsCertainlyValid` first; when they
 * pass, zod parses the rest of the body with `spec.maps` empty and the
 * checked entries are put back as they came. Anything the check cannot
 * vouch for goes to zod whole, which then reports every problem with its path.
 */
export function parseProgramBody(body: unknown): z.ZodSafeParseResult<NodeProgram> {
  if (!isJsonObject(body) || !isJsonObject(body.spec) || !mapsCertainlyValid(body.spec.maps)) {
    return nodeProgram.safeParse(body);
  }
  const rest = nodeProgram.safeParse({ ...body, spec: { ...body.spec, maps: {} } });
  // Valid entries add no issues, so a failure here has the issues, in the order, zod gives for the whole body.
  if (rest.success) rest.data.spec.maps = body.spec.maps as NodeProgramSpec["maps"];
  return rest;
}

/**
 * True only when `nodeProgramSpec.shape.maps` accepts `maps` and returns it
 * unchanged (but for the order of an entry's own keys). False means zod must
 * decide; in particular a record with an own `__proto__` key, which zod
 * accepts but drops from its output, is left to zod.
 */
export function mapsCertainlyValid(maps: unknown): boolean {
  if (!isJsonObject(maps)) return false;
  for (const name in maps) {
    if (!MAP_LIMITS.name.test(name)) return false;
    const entries = maps[name];
    if (!Array.isArray(entries) || entries.length > MAP_LIMITS.entries) return false;
    for (let i = 0; i < entries.length; i++) if (!entryCertainlyValid(entries[i])) return false;
  }
  return true;
}

function entryCertainlyValid(entry: unknown): boolean {
  if (!isJsonObject(entry)) return false;
  for (const field in entry) {
    if (field !== "key" && field !== "value" && field !== "note") return false;
  }
  if (!recordCertainlyValid(entry.key) || !recordCertainlyValid(entry.value)) return false;
  if (!("note" in entry)) return true;
  const note = entry.note;
  return typeof note === "string" && note.length <= MAP_LIMITS.note;
}

function recordCertainlyValid(record: unknown): boolean {
  if (!isJsonObject(record)) return false;
  for (const field in record) {
    if (field.length > MAP_LIMITS.field || field === "__proto__") return false;
    const v = record[field];
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) return false;
    } else if (typeof v !== "string" || v.length > MAP_LIMITS.text) return false;
  }
  return true;
}

/** An object as JSON.parse makes them; anything else (arrays, class instances) is not vouched for. */
function isJsonObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
