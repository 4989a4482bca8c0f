import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson, sha256 } from "@fos1/dpi/sdk/compile/canonical";
import { hashMatches, programHash, type NodeProgram } from "@fos1/dpi/sdk/compile/node-program";

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

  it("matches every golden program's recorded hash", () => {
    const files = goldenPrograms(goldenDir).filter((f) => readFileSync(f, "utf8").includes('"NodeProgram"'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const program = JSON.parse(readFileSync(file, "utf8")) as NodeProgram;
      expect([file, hashMatches(program)]).toEqual([file, true]);
    }
  });
});
