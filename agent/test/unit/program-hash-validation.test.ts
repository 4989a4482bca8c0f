import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson, sha256 } from "@fos1/dpi/sdk/compile/canonical";
import { canonicalCopy } from "@fos1/dpi/sdk/compile/canonical";
import { hashMatches, programHash, sealProgram, type NodeProgram } from "@fos1/dpi/sdk/compile/node-program";

const goldenDir = join(__dirname, "..", "..", "..", "test", "golden");
const goldenPrograms = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? goldenPrograms(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : [],
  );

/** The definition: sha256 of canonicalJson of metadata and spec. */
const defined = (metadata: unknown, spec: unknown) => sha256(canonicalJson({ metadata, spec }));
const hash = (metadata: unknown, spec: unknown) =>
  programHash(metadata as NodeProgram["metadata"], spec as NodeProgram["spec"]);

describe("programHash is sha256 of canonicalJson, byte for byte", () => {
  it("on arbitrary JSON values, undefined members and sparse keys included", () => {
    const values = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.constant(undefined))),
      fc.array(fc.oneof(fc.jsonValue(), fc.constant(undefined))),
      // Keys that are array indices sit first in every object, whatever the insertion order.
      fc.dictionary(
        fc.constantFrom("0", "1", "9", "10", "01", "-1", "1.5", "4294967294", "4294967295", "a", "B", ""),
        fc.jsonValue(),
      ),
    );
    fc.assert(
      fc.property(values, values, (metadata, spec) => {
        expect(hash(metadata, spec)).toBe(defined(metadata, spec));
      }),
      { numRuns: 2000 },
    );
  });

  it("on keys JSON must escape or sort by code unit, -0 and __proto__", () => {
    const spec = JSON.parse(
      '{"b":1,"a":{"__proto__":2,"\\u2028":3,"é":4,"E":5,"10":6,"9":7},"\\"q":[-0,1e21,"\\u0000",null,{}]}',
    ) as unknown;
    expect(hash({ name: "x" }, spec)).toBe(defined({ name: "x" }, spec));
  });

  it("on values already in canonical order, which JSON.stringify writes as they are", () => {
    const values = fc.oneof(
      fc.array(fc.jsonValue()),
      fc.array(
        fc.dictionary(
          fc.constantFrom("0", "1", "9", "10", "key", "value", "note", "é", "", "__proto__"),
          fc.jsonValue(),
        ),
      ),
    );
    fc.assert(
      fc.property(values, values, (metadata, spec) => {
        const sorted = canonicalCopy({ metadata, spec: { maps: { fos1_m: spec } } });
        expect(hash(sorted.metadata, sorted.spec)).toBe(defined(metadata, { maps: { fos1_m: spec } }));
      }),
      { numRuns: 2000 },
    );
  });

  it("sealProgram hashes what it returns, and its JSON is canonical", () => {
    const metadata = { name: "p", site: "s", node: "n", source: { kind: "QoSPolicy", name: "q" } };
    const spec = {
      runtime: {},
      maps: { fos1_qos_classes: [{ value: { skb_priority: 65537, dscp: 46 }, key: { class_id: 1 } }] },
      tc: [],
      config: { b: 1, a: 2 },
      ipRules: [],
      routes: [],
    } as unknown as NodeProgram["spec"];
    const sealed = sealProgram(metadata, spec);
    expect(sealed.hash).toBe(defined(metadata, spec));
    expect(hashMatches(sealed)).toBe(true);
    expect(JSON.stringify({ metadata: sealed.metadata, spec: sealed.spec })).toBe(
      canonicalJson({ metadata, spec }),
    );
  });

  it("matches every golden program's recorded hash", () => {
    const files = goldenPrograms(goldenDir).filter((f) => readFileSync(f, "utf8").includes('"NodeProgram"'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const program = JSON.parse(readFileSync(file, "utf8")) as NodeProgram;
      expect([file, hashMatches(program)]).toEqual([file, true]);
    }
  });
});
