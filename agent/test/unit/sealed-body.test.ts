import fc from "fast-check";
import { createHash } from "node:crypto";
import { parseProgramBody } from "@fos1/dpi/agent/src/api/program-body";
import { sealedBodyShowsHash } from "@fos1/dpi/agent/src/api/sealed-body";
import { canonicalJson } from "@fos1/dpi/sdk/compile/canonical";
import { hashMatches, sealProgram, type NodeProgram } from "@fos1/dpi/sdk/compile/node-program";
import { goldenProgram } from "./fixtures/programs";

const golden = ["firewall-branch-firewall", "qos-default-qos-policy", "routing-application-routing"].map(
  (name) => goldenProgram(name),
);
const sealed = (p: NodeProgram) => sealProgram(p.metadata, p.spec);

/** What the agent does with a PUT body: JSON.parse, validation, then the check. */
function shows(body: string): { shown: boolean; program: NodeProgram } {
  const json = JSON.parse(body) as { spec: { maps: unknown } };
  const parsed = parseProgramBody(json);
  if (!parsed.success) throw new Error(parsed.error.message);
  const bytes = Buffer.from(body);
  return { shown: sealedBodyShowsHash(bytes, parsed.data, json.spec.maps), program: parsed.data };
}

/** `body` with the bytes of spec.maps replaced by `maps`, and the hash the bytes around them then give. */
function withMapsText(program: NodeProgram, maps: string): string {
  const marker = '"maps":{}';
  const body = JSON.stringify(sealProgram(program.metadata, { ...program.spec, maps: {} }));
  const canonical = canonicalJson({ metadata: program.metadata, spec: { ...program.spec, maps: {} } });
  const hashed = canonical.replace(marker, `"maps":${maps}`);
  const hash = createHash("sha256").update(hashed).digest("hex");
  return body.replace(marker, `"maps":${maps}`).replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${hash}"`);
}

describe("sealedBodyShowsHash: a sealed program's body shows its hash", () => {
  it.each(golden.map((p) => [p.metadata.name, p] as const))("%s", (_name, program) => {
    const { shown, program: parsed } = shows(JSON.stringify(sealed(program)));
    expect(shown).toBe(true);
    expect(hashMatches(parsed)).toBe(true);
  });

  it("with notes in any Unicode; those JSON escapes (quotes, backslashes) are left to the full hash", () => {
    const base = golden[1]!;
    const entries = fc.array(
      fc.record({
        app: fc.integer({ min: 1, max: 4000 }),
        note: fc.string({ unit: "grapheme", maxLength: 40 }),
      }),
      { maxLength: 20 },
    );
    const notes = fc.oneof(
      entries,
      fc.constant([
        { app: 7, note: '"}],"maps":{' },
        { app: 8, note: "\\\\\\" },
      ]),
    );
    fc.assert(
      fc.property(notes, (list) => {
        const maps = {
          ...base.spec.maps,
          fos1_app_policy: list.map((e, i) => ({
            key: { app_id: e.app + i * 4001 },
            value: { class_id: 1, flags: 0 },
            note: e.note.slice(0, 200),
          })),
        };
        const { shown, program } = shows(JSON.stringify(sealProgram(base.metadata, { ...base.spec, maps })));
        const escaped = maps.fos1_app_policy.some((e) => JSON.stringify(e.note) !== `"${e.note}"`);
        expect(shown).toBe(!escaped);
        expect(hashMatches(program)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("sealedBodyShowsHash: anything else is left to the full hash", () => {
  const program = sealed(golden[2]!);

  it("a body that is not JSON.stringify of a sealed program, though its hash is right", () => {
    expect(shows(JSON.stringify(program, null, 2)).shown).toBe(false);
    expect(shows(JSON.stringify(golden[2]!)).shown).toBe(false);
    const { apiVersion, kind, metadata, spec, hash } = program;
    expect(shows(JSON.stringify({ kind, apiVersion, metadata, spec, hash })).shown).toBe(false);
  });

  it("a wrong hash", () => {
    const body = JSON.stringify({ ...program, hash: "0".repeat(64) });
    expect(shows(body).shown).toBe(false);
  });

  it("maps that are not the object parsed from the body", () => {
    const body = JSON.stringify(program);
    const json = JSON.parse(body) as { spec: { maps: unknown } };
    const parsed = parseProgramBody(json).data!;
    const copy = { ...parsed, spec: { ...parsed.spec, maps: structuredClone(parsed.spec.maps) } };
    expect(sealedBodyShowsHash(Buffer.from(body), copy, json.spec.maps)).toBe(false);
    expect(sealedBodyShowsHash(Buffer.from(body), parsed, json.spec.maps)).toBe(true);
  });

  it("maps bytes that are two members: hashed as written, JSON.parse would keep only the last", () => {
    const real = canonicalJson(program.spec.maps);
    expect(shows(withMapsText(program, real)).shown).toBe(true);
    const body = withMapsText(program, `{},"maps":${real}`);
    const { shown, program: parsed } = shows(body);
    expect(parsed.spec.maps).toEqual(program.spec.maps);
    expect(hashMatches(parsed)).toBe(false);
    expect(shown).toBe(false);
  });

  // Each makes maps bytes that parse to a valid program but are not canonical JSON, hashed as written.
  const real = canonicalJson(program.spec.maps);
  const mutants: [string, string][] = [
    [
      "keys out of order",
      real.replace(
        /"fos1_route_policy":(\[.*?\]),"fos1_segments":(\[.*\])\}$/,
        '"fos1_segments":$2,"fos1_route_policy":$1}',
      ),
    ],
    [
      "an entry's members out of order",
      real.replace(
        /\{"key":(\{[^}]*\}),"note":("[^"]*"),"value":(\{[^}]*\})\}/,
        '{"value":$3,"key":$1,"note":$2}',
      ),
    ],
    ["a member twice", real.replace(/"key":\{"app_id":(\d+)/, '"key":{"app_id":$1,"app_id":$1')],
    ["whitespace", real.replace('":', '": ')],
    ["a fraction", real.replace(/"mark":(\d+)/, '"mark":$1.0')],
    ["an exponent", real.replace(/"mark":(\d+)/, '"mark":$1e0')],
    ["minus zero", real.replace('"segment_id":0', '"segment_id":-0')],
    ["an escape", real.replace('"note":"any', '"note":"\\u0061ny')],
    ["a key escaped", real.replace('"note":', '"\\u006eote":')],
  ];

  it.each(mutants)(
    "maps bytes with %s: the hash as written is not the program's, and is not shown",
    (_what, maps) => {
      expect(maps).not.toBe(real);
      const { shown, program: parsed } = shows(withMapsText(program, maps));
      expect(hashMatches(parsed)).toBe(false);
      expect(shown).toBe(false);
    },
  );

  it("bytes that are not UTF-8, which JSON.parse reads as U+FFFD", () => {
    const body = Buffer.from(
      withMapsText(program, real.replace('"note":"any', '"note":"\u00ffany')),
      "latin1",
    );
    const json = JSON.parse(body.toString("utf8")) as { spec: { maps: unknown } };
    const parsed = parseProgramBody(json);
    expect(parsed.success).toBe(true);
    expect(sealedBodyShowsHash(body, parsed.data!, json.spec.maps)).toBe(false);
  });

  it("shows the hash only when it is the program's, whatever the maps bytes are", () => {
    const texts = fc.oneof(
      fc.constantFrom(real, ...mutants.map(([, m]) => m)),
      fc
        .dictionary(fc.constantFrom("fos1_app_policy", "fos1_app_deny", "__proto__", "10"), fc.constant([]))
        .map((d) => JSON.stringify(d)),
      fc.jsonValue().map((v) => JSON.stringify({ fos1_app_deny: [{ key: { app_id: 1 }, value: { x: v } }] })),
    );
    fc.assert(
      fc.property(texts, (maps) => {
        let result: { shown: boolean; program: NodeProgram };
        try {
          result = shows(withMapsText(program, maps));
        } catch {
          return; // not a program: refused before any hash
        }
        if (result.shown) expect(hashMatches(result.program)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
