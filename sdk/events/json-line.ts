import { reject, type Rejection } from "./parse-result";

export type JsonRecord = Record<string, unknown>;

/** The line as a JSON object, or why it is not one. */
export function parseJsonObject(line: string): { ok: true; record: JsonRecord } | Rejection {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return reject("not-json", `(line): ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject(
      "not-object",
      `(line): expected a JSON object, got ${Array.isArray(value) ? "array" : typeof value}`,
    );
  }
  return { ok: true, record: value as JsonRecord };
}

/**
 * The literal text of a top-level number, for values a JS number cannot hold
 * exactly (u64 flow ids) or whose original spelling matters (`ts`). Falls back
 * to the parsed value when the text cannot be found or does not agree with it.
 */
export function numberText(line: string, key: string, parsed: number): string {
  const match = new RegExp(
    `"${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)`,
  ).exec(line);
  if (match && Number(match[1]) === parsed) return match[1];
  return String(parsed);
}

/** A copy of `record` without the given paths; objects emptied by the removal disappear too. */
export function omitPaths(record: JsonRecord, paths: readonly (readonly string[])[]): JsonRecord {
  const copy: JsonRecord = { ...record };
  for (const path of paths) removePath(copy, path);
  return copy;
}

function removePath(target: JsonRecord, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (!(head in target)) return;
  if (rest.length === 0) {
    delete target[head];
    return;
  }
  const child = target[head];
  if (typeof child !== "object" || child === null || Array.isArray(child)) return;
  const childCopy: JsonRecord = { ...(child as JsonRecord) };
  removePath(childCopy, rest);
  if (Object.keys(childCopy).length === 0) delete target[head];
  else target[head] = childCopy;
}
