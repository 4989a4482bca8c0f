import fc from "fast-check";
import { KeyIndex } from "@fos1/dpi/agent/src/bpf/key-index";

describe("KeyIndex", () => {
  it("finds each key at the first slot that holds it, and nothing else, as a Map of the bytes would", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 4, 8, 20),
        fc.array(fc.nat({ max: 40 }), { maxLength: 300 }),
        fc.array(fc.nat({ max: 60 }), { maxLength: 50 }),
        (size, picks, probes) => {
          // Few distinct keys, so most slots repeat an earlier key; each key's bytes vary in every position.
          const keyOf = (n: number) =>
            Buffer.from(Array.from({ length: size }, (_, i) => (n * 37 + i * n) & 0xff));
          const keys = Buffer.concat(picks.map(keyOf));
          const index = new KeyIndex(keys, size, picks.length);
          const first = new Map<string, number>();
          picks.forEach((n, slot) => {
            const expected = first.get(keyOf(n).toString("latin1")) ?? slot;
            first.set(keyOf(n).toString("latin1"), expected);
            expect(index.insert(slot)).toBe(expected);
          });
          for (const n of [...picks, ...probes]) {
            expect(index.find(keyOf(n), 0)).toBe(first.get(keyOf(n).toString("latin1")) ?? -1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("indexes a dump and finds a key at an offset of another buffer", () => {
    const dump = Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    const index = KeyIndex.of(dump, 4, 3);
    const probe = Buffer.from([9, 9, 3, 0, 0, 0]);
    expect(index.find(probe, 2)).toBe(2);
    expect(index.find(probe, 0)).toBe(-1);
  });
});
