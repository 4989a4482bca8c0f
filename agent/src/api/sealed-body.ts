import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../../sdk/compile/canonical";
import { nodeProgram, type NodeProgram, type NodeProgramSpec } from "../../../sdk/compile/node-program";
import { setEncodedMaps } from "../bpf/encoded-maps";
import { readCanonicalMaps } from "./canonical-maps";

/**
 * The program of a PUT body that is `JSON.stringify` of a sealed program
 * (sdk `sealProgram`), read without making objects of its map entries, with
 * its hash shown right; undefined for any other body, which the caller then
 * parses and hashes in full.
 *
 * Such a body is the canonical JSON of the program: every part but
 * `spec.maps` must equal canonicalJson of what JSON.parse and the zod
 * schema make of it, and the maps' bytes must be canonical policy maps
 * (`readCanonicalMaps`), which writes their kernel bytes as it checks them.
 * The hash is then sha256 of the body's texts as they are. What JSON.parse
 * would make of the maps is made only when something reads `spec.maps`
 * (the GET of the program, the runtime's policy view), after the kernel
 * has them; the encoded entries go with the program (`setEncodedMaps`).
 */
export function readSealedBody(body: Buffer): NodeProgram | undefined {
  const member = body.indexOf(MAPS_MEMBER);
  if (member < 0) return undefined;
  const from = member + MAPS_MEMBER.length;
  const read = readCanonicalMaps(body, from);
  if (!read) return undefined;
  const { end, maps } = read;
  // Strings end at their next quote only without escapes; bytes that are not UTF-8 parse as U+FFFD.
  const backslash = body.indexOf(BACKSLASH, from);
  if ((backslash >= 0 && backslash < end) || !isUtf8(body)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(`${body.toString("utf8", 0, from)}{}${body.toString("utf8", end)}`);
  } catch {
    return undefined;
  }
  const parsed = nodeProgram.safeParse(json);
  if (!parsed.success) return undefined;
  const program = parsed.data;
  const texts = textsAround(program);
  if (!texts) return undefined;
  const head = Buffer.from(
    `{"apiVersion":${JSON.stringify(program.apiVersion)},"kind":${JSON.stringify(program.kind)},${texts.before.slice(1)}`,
  );
  const tail = Buffer.from(`${texts.after.slice(0, -1)},"hash":${JSON.stringify(program.hash)}}`);
  if (head.length !== from || tail.length !== body.length - end) return undefined;
  if (!body.subarray(0, from).equals(head) || !body.subarray(end).equals(tail)) return undefined;
  const hash = createHash("sha256");
  hash.update(texts.before);
  hash.update(body.subarray(from, end));
  hash.update(texts.after);
  if (hash.digest("hex") !== program.hash) return undefined;
  parseMapsWhenRead(program.spec, body, from, end);
  setEncodedMaps(program, maps);
  return program;
}

/** The canonical JSON of metadata and spec with a placeholder for the maps: the texts around them. */
function textsAround(program: NodeProgram): { before: string; after: string } | undefined {
  const canonical = canonicalJson({ metadata: program.metadata, spec: { ...program.spec, maps: MAPS_HOLE } });
  const hole = canonical.indexOf(MAPS_HOLE_TEXT);
  if (hole < 0 || hole !== canonical.lastIndexOf(MAPS_HOLE_TEXT)) return undefined;
  return { before: canonical.slice(0, hole), after: canonical.slice(hole + MAPS_HOLE_TEXT.length) };
}

/** Makes `spec.maps` JSON.parse of the body's maps bytes the first time it is read. */
function parseMapsWhenRead(spec: NodeProgramSpec, body: Buffer, from: number, end: number): void {
  let maps: NodeProgramSpec["maps"] | undefined;
  Object.defineProperty(spec, "maps", {
    enumerable: true,
    configurable: true,
    get: () => (maps ??= JSON.parse(body.toString("utf8", from, end)) as NodeProgramSpec["maps"]),
    set: (value: NodeProgramSpec["maps"]) => {
      maps = value;
    },
  });
}

/** Where the maps' bytes start: spec's first member is config, which the maps follow. */
const MAPS_MEMBER = Buffer.from(',"maps":');
const BACKSLASH = 0x5c;

/** Stands in for spec.maps; a program that holds this string anywhere else is left to the full parse. */
const MAPS_HOLE = "\u0000maps";
const MAPS_HOLE_TEXT = JSON.stringify(MAPS_HOLE);
