import fc from "fast-check";
import { nodeProgram, nodeProgramSpec } from "@fos1/dpi/sdk/compile/node-program";
import { problemsFromZod } from "@fos1/dpi/sdk/schema/problem";
import { mapsCertainlyValid, parseProgramBody } from "@fos1/dpi/agent/src/api/program-body";
import { hostileBodies } from "./fixtures/hostile-bodies";
import { goldenProgram, kernelProgram } from "./fixtures/programs";

// Values are generated as JSON text and parsed, as the agent receives them:
// that is the only way to get own `__proto__` keys, duplicate keys and -0.
const text = (value: unknown) => JSON.stringify(value);
const object = (pairs: readonly (readonly [string, string])[]) =>
  `{${pairs.map(([k, v]) => `${text(k)}:${v}`).join(",")}}`;
const array = (items: readonly string[]) => `[${items.join(",")}]`;

const scalars = fc.oneof(
  fc.constantFrom(
    "0",
    "-0",
    "1",
    "-1",
    "1.5",
    "1e3",
    String(Number.MAX_SAFE_INTEGER),
    String(Number.MAX_SAFE_INTEGER + 1),
    "1e300",
    text(""),
    text("x".repeat(64)),
    text("x".repeat(65)),
    "null",
    "true",
    "[]",
    "{}",
    "[1]",
    '{"a":1}',
  ),
  fc.integer().map(String),
  fc.string({ maxLength: 70 }).map(text),
);
const fieldNames = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom("app_id", "prefix", "", "x".repeat(32), "x".repeat(33), "__proto__", "1"),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 34 }) },
);
/** Mostly valid records; each pair may be wrong. */
const records = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(fieldNames, scalars), { maxLength: 4 }).map(object) },
  { weight: 1, arbitrary: scalars },
);
const notes = fc.oneof(
  fc.constantFrom(text(""), text("n".repeat(200)), text("n".repeat(201)), "7", "null", "{}"),
  fc.string({ maxLength: 10 }).map(text),
);
const entryFields = fc.oneof(
  { weight: 6, arbitrary: fc.constant("key") },
  { weight: 6, arbitrary: fc.constant("value") },
  { weight: 2, arbitrary: fc.constant("note") },
  { weight: 1, arbitrary: fc.constantFrom("other", "__proto__", "Key") },
);
const entries = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(records, records, fc.option(notes))
      .map(([key, value, note]) =>
        object([["key", key], ["value", value], ...(note === null ? [] : [["note", note] as const])]),
      ),
  },
  {
    weight: 2,
    arbitrary: fc.array(fc.tuple(entryFields, fc.oneof(records, notes)), { maxLength: 4 }).map(object),
  },
  { weight: 1, arbitrary: scalars },
);
const mapNames = fc.constantFrom(
  "fos1_app_policy",
  "fos1_qos_classes",
  "fos1_x_1",
  "fos1_",
  "FOS1_A",
  "fos1_a-b",
  "__proto__",
  "other",
);
const maps = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(fc.tuple(mapNames, fc.array(entries, { maxLength: 5 }).map(array)), { maxLength: 3 })
      .map(object),
  },
  { weight: 1, arbitrary: scalars },
  { weight: 1, arbitrary: fc.array(entries, { maxLength: 2 }).map(array) },
);

/** True when some object in the value has an own `__proto__` key: zod drops those from records. */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  (Object.prototype.hasOwnProperty.call(value, "__proto__") || Object.values(value).some(hasProtoKey));

function expectSameAsZod(body: unknown): void {
  const fast = parseProgramBody(body);
  const zod = nodeProgram.safeParse(body);
  expect(fast.success).toBe(zod.success);
  if (zod.success) expect(fast.data).toEqual(zod.data);
  else {
    expect(fast.error!.issues).toEqual(zod.error.issues);
    expect(problemsFromZod(fast.error!)).toEqual(problemsFromZod(zod.error));
  }
}

const base = goldenProgram("fastpath-branch-fast-path");

describe("the map entry check accepts exactly what the schema accepts", () => {
  it("on generated spec.maps values, valid and damaged", () => {
    let accepted = 0;
    fc.assert(
      fc.property(maps, (json) => {
        const value: unknown = JSON.parse(json);
        const zod = nodeProgramSpec.shape.maps.safeParse(value);
        const certain = mapsCertainlyValid(value);
        if (certain) {
          accepted++;
          expect(zod.success).toBe(true);
          // What zod returns is the value itself: the parser may keep the body's objects.
          expect(zod.data).toEqual(value);
        } else if (!hasProtoKey(value)) {
          expect(zod.success).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
    // The generator must reach the accepting side often, or the property proves little.
    expect(accepted).toBeGreaterThan(300);
  });

  it("leaves records with an own __proto__ key to zod", () => {
    const value: unknown = JSON.parse('{"fos1_app_policy":[{"key":{"__proto__":1,"app_id":2},"value":{}}]}');
    expect(mapsCertainlyValid(value)).toBe(false);
    expect(nodeProgramSpec.shape.maps.safeParse(value).success).toBe(true);
  });

  it("on the boundaries of every bound", () => {
    const one = (entry: string) => JSON.parse(`{"fos1_a":[${entry}]}`) as unknown;
    const cases: [string, boolean][] = [
      ['{"key":{"a":0},"value":{"b":-0}}', true],
      [`{"key":{"a":${Number.MAX_SAFE_INTEGER}},"value":{}}`, true],
      [`{"key":{"a":${Number.MAX_SAFE_INTEGER + 1}},"value":{}}`, false],
      ['{"key":{"a":-1},"value":{}}', false],
      ['{"key":{"a":2.5},"value":{}}', false],
      ['{"key":{"a":1e0},"value":{}}', true],
      [`{"key":{"${"f".repeat(32)}":1},"value":{}}`, true],
      [`{"key":{"${"f".repeat(33)}":1},"value":{}}`, false],
      [`{"key":{"a":"${"s".repeat(64)}"},"value":{}}`, true],
      [`{"key":{"a":"${"s".repeat(65)}"},"value":{}}`, false],
      [`{"key":{},"value":{},"note":"${"n".repeat(200)}"}`, true],
      [`{"key":{},"value":{},"note":"${"n".repeat(201)}"}`, false],
      ['{"key":{},"value":{},"note":null}', false],
      ['{"key":{}}', false],
      ['{"key":{},"value":[]}', false],
      ['{"key":{},"value":{},"extra":1}', false],
      ['{"key":{},"value":{},"__proto__":{}}', false],
      ['{"key":{"a":true},"value":{}}', false],
    ];
    for (const [entry, valid] of cases) {
      expect([entry, mapsCertainlyValid(one(entry))]).toEqual([entry, valid]);
      expect([entry, nodeProgramSpec.shape.maps.safeParse(one(entry)).success]).toEqual([entry, valid]);
    }
  });

  it("refuses more entries than the bound without looking at them, as zod does", () => {
    const entry = '{"key":{"a":1},"value":{}}';
    const value: unknown = JSON.parse(`{"fos1_a":[${Array(1_000_001).fill(entry).join(",")}]}`);
    expect(mapsCertainlyValid(value)).toBe(false);
    expect(nodeProgramSpec.shape.maps.safeParse(value).success).toBe(false);
  });
});

describe("parseProgramBody gives exactly zod's result", () => {
  it("on programs whose maps and other parts are generated", () => {
    const names = fc.constantFrom(base.metadata.name, "Bad_Name", 7);
    fc.assert(
      fc.property(maps, names, fc.boolean(), (json, name, badTc) => {
        const body = JSON.parse(text(base)) as Record<string, Record<string, unknown>>;
        body.spec!.maps = JSON.parse(json);
        body.metadata!.name = name;
        if (badTc) body.spec!.tc = [{ device: 1 }];
        expectSameAsZod(body);
      }),
      { numRuns: 1500 },
    );
  });

  it("on the golden programs and every hostile body of the API tests", () => {
    for (const name of ["qos-default-qos-policy", "routing-application-routing", "sensor-branch-sensors"])
      expectSameAsZod(JSON.parse(text(goldenProgram(name))));
    const sample = kernelProgram("firewall-sample", "router-1", {
      name: "isp1",
      device: "wan1",
      gateway: "198.51.100.1",
      table: 101,
      mark: 0x10,
      bandwidthBps: 100_000_000,
    });
    let compared = 0;
    for (const c of hostileBodies(sample)) {
      let body: unknown;
      try {
        body = JSON.parse(c.body);
      } catch {
        continue;
      }
      expectSameAsZod(body);
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });

  it("keeps the body's entries rather than copies, so 100k entries cost no second tree", () => {
    const body = JSON.parse(text(base)) as { spec: { maps: Record<string, unknown[]> } };
    const parsed = parseProgramBody(body);
    expect(parsed.success).toBe(true);
    expect(parsed.data!.spec.maps).toBe(body.spec.maps);
  });
});
