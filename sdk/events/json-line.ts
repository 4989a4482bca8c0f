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
  const text = literalAfterKey(line, `"${key}"`);
  if (text !== undefined && Number(text) === parsed) return text;
  return String(parsed);
}

/** The number literal after the first `"key"\s*:\s*` in the line that has one; scanned, not matched by a RegExp, as it runs per line. */
function literalAfterKey(line: string, quotedKey: string): string | undefined {
  for (let found = line.indexOf(quotedKey); found !== -1; found = line.indexOf(quotedKey, found + 1)) {
    let at = skipSpace(line, found + quotedKey.length);
    if (line.charCodeAt(at) !== COLON) continue;
    at = skipSpace(line, at + 1);
    const start = at;
    if (line.charCodeAt(at) === MINUS) at++;
    if (!isDigit(line.charCodeAt(at))) continue;
    while (at < line.length && isNumberChar(line.charCodeAt(at))) at++;
    return line.slice(start, at);
  }
  return undefined;
}

const COLON = 0x3a;
const MINUS = 0x2d;

function skipSpace(line: string, at: number): number {
  let i = at;
  for (
    let c = line.charCodeAt(i);
    c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
    c = line.charCodeAt(++i)
  );
  return i;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** [0-9.eE+-] */
function isNumberChar(code: number): boolean {
  return isDigit(code) || code === 0x2e || code === 0x65 || code === 0x45 || code === 0x2b || code === MINUS;
}

/** Field paths compiled for omitPaths: `true` marks a removed field, a nested tree a partly removed object. */
export type PathTree = ReadonlyMap<string, PathTree | true>;

/** Compiles field paths (`["alert", "signature_id"]`) once, at module load, for omitPaths. */
export function pathTree(paths: readonly (readonly string[])[]): PathTree {
  const root = new Map<string, Map<string, unknown> | true>();
  for (const path of paths) {
    let node = root;
    path.forEach((key, i) => {
      if (i === path.length - 1) {
        node.set(key, true);
        return;
      }
      const child = node.get(key);
      if (child === true) return;
      const next = child ?? new Map();
      node.set(key, next);
      node = next as typeof root;
    });
  }
  return root as PathTree;
}

/** A copy of `record` without the fields in `tree`, in one pass; objects emptied by the removal disappear too. */
export function omitPaths(record: JsonRecord, tree: PathTree): JsonRecord {
  const kept: JsonRecord = {};
  for (const key of Object.keys(record)) {
    const node = tree.get(key);
    const value = record[key];
    if (node === true) continue;
    if (node === undefined || typeof value !== "object" || value === null || Array.isArray(value)) {
      kept[key] = value;
      continue;
    }
    const child = omitPaths(value as JsonRecord, node);
    if (Object.keys(child).length > 0) kept[key] = child;
  }
  return kept;
}
