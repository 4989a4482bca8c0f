import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every level: the same value always gives the
 * same bytes, so hashes and golden files are stable across runs and machines.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

/** A copy of JSON data with every object's keys in canonical order (undefined members dropped). */
export function canonicalCopy<T>(value: T): T {
  return sortKeys(value) as T;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Canonical JSON laid out for people: a value whose compact form fits in
 * `width` columns at its indentation stays on one line (a map entry, a tc
 * class), anything larger is broken up. Diffs of it show one change per line.
 */
export function prettyJson(value: unknown, width = 120): string {
  return layout(sortKeys(value), 0, width) + "\n";
}

/** `column` is where the value starts on its line; nested lines indent by two from `indent`. */
function layout(value: unknown, indent: number, width: number, column = indent): string {
  const compact = JSON.stringify(value);
  if (compact === undefined) return "null";
  if (value === null || typeof value !== "object" || column + compact.length <= width) return compact;
  const pad = " ".repeat(indent + 2);
  const close = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => pad + layout(v, indent + 2, width)).join(",\n")}\n${close}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([k, v]) => {
    const key = `${pad}${JSON.stringify(k)}: `;
    return key + layout(v, indent + 2, width, key.length);
  });
  return `{\n${lines.join(",\n")}\n${close}}`;
}
