import fc from "fast-check";
import { createHash } from "node:crypto";
import { readCanonicalMaps } from "@fos1/dpi/agent/src/api/canonical-maps";
import { parseProgramBody } from "@fos1/dpi/agent/src/api/program-body";
import { readSealedBody } from "@fos1/dpi/agent/src/api/sealed-body";
import { encodedMapsOf } from "@fos1/dpi/agent/src/bpf/encoded-maps";
import { desiredPolicyMaps } from "@fos1/dpi/agent/src/bpf/maps-plan";
import { ConflictError } from "@fos1/dpi/agent/src/reconcile/reconciler";
import { canonicalJson } from "@fos1/dpi/sdk/compile/canonical";
import {
  hashMatches,
  sealProgram,
  type MapEntry,
  type NodeProgram,
  type NodeProgramSpec,
} from "@fos1/dpi/sdk/compile/node-program";
import { goldenProgram } from "./fixtures/programs";

const golden = ["firewall-branch-firewall", "qos-default-qos-policy", "routing-application-routing"].map(
  (name) => goldenProgram(name),
);
/** Prefixes the reader must read as policy-maps.ts `writePrefix` does, or leave to it. */
const ODD_PREFIXES = [
  "256.0.0.0/8",
  "010.0.0.0/8",
  "10.0.0.0/08",
  "10.0.0.0/008",
  "10.0.0.0/0008",
  "10.0.0/8",
  "10.0.0.0.0/8",
  "10..0.0/8",
  "10.0.0.0",
  "10.0.0.0/",
  "10.0.0.0/8/8",
  " 10.0.0.0/8",
  "10.0.0.0/8 ",
  "10.0.0.1/31",
  "10.0.0.0/33",
  "::ffff:10.0.0.0/104",
  "2001:db8::1/32",
  "fe80::1%eth0/64",
  "10.0.0.0/x",
  "é/8",
  "",
];
const sealed = (p: NodeProgram) => sealProgram(p.metadata, p.spec);
const read = (body: string | Buffer) => readSealedBody(Buffer.isBuffer(body) ? body : Buffer.from(body));

/** What the agent does with a body the reader declines: JSON.parse and validation; undefined when invalid. */
function parsedInFull(body: string): NodeProgram | undefined {
  const parsed = parseProgramBody(JSON.parse(body));
  return parsed.success ? parsed.data : undefined;
}

type Outcome = { bytes: Record<string, [string, string]> } | { refused: string; conflict: boolean };

/** The policy maps a program makes, as bytes, or why it makes none. */
function outcome(program: NodeProgram): Outcome {
  try {
    const maps = desiredPolicyMaps([program]);
    const bytes: Record<string, [string, string]> = {};
    for (const [name, m] of maps) bytes[name] = [m.keyBytes.toString("hex"), m.valueBytes.toString("hex")];
    return { bytes };
  } catch (error) {
    return { refused: (error as Error).message, conflict: error instanceof ConflictError };
  }
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

describe("readSealedBody: the body of a sealed program", () => {
  it.each(golden.map((p) => [p.metadata.name, p] as const))(
    "%s: read as JSON.parse reads it, hash shown, maps encoded as the codecs encode them",
    (_name, program) => {
      const body = JSON.stringify(sealed(program));
      const fast = read(body);
      expect(fast).toBeDefined();
      expect(encodedMapsOf(fast!)).toBeDefined();
      const full = parsedInFull(body)!;
      expect(outcome(fast!)).toEqual(outcome(full));
      expect(fast).toEqual(full);
      expect(hashMatches(fast!)).toBe(true);
    },
  );

  it("makes spec.maps only when it is read, once, and takes a new value", () => {
    const program = sealed(golden[1]!);
    const body = JSON.stringify(program);
    const fast = read(body)!;
    expect(outcome(fast)).toEqual(outcome(parsedInFull(body)!));
    const parse = jest.spyOn(JSON, "parse");
    try {
      const first = fast.spec.maps;
      expect(fast.spec.maps).toBe(first);
      expect(parse).toHaveBeenCalledTimes(1);
      expect(first).toEqual(program.spec.maps);
      expect(canonicalJson(fast)).toBe(canonicalJson(JSON.parse(body)));
      fast.spec.maps = {};
      expect(fast.spec.maps).toEqual({});
    } finally {
      parse.mockRestore();
    }
  });

  // Every policy map, with values in and out of the structs' ranges, unknown and missing members,
  // prefixes the codecs take and refuse, duplicate keys (merged or in conflict), notes in any Unicode.
  // Anything the codecs refuse is rare, so that most programs are readable through and through.
  const rarely = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: usual, weight: 40 }, { arbitrary: odd, weight: 1 });
  const u32 = rarely(
    fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(255, 256, 65_552, 0xffffffff)),
    fc.constantFrom(2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, -1, "1"),
  );
  const dscp = rarely(fc.integer({ min: 0, max: 63 }), fc.constantFrom(64, 255));
  const octet = fc.integer({ min: 0, max: 255 });
  const prefix = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.oneof(
        fc.tuple(octet, octet, octet, octet).map(([a, b, c, d]) => `${a}.${b}.${c}.${d}/32`),
        fc.tuple(octet, octet).map(([a, b]) => `${a}.${b}.0.0/16`),
        fc
          .tuple(octet, fc.integer({ min: 0, max: 7 }))
          .map(([a, n]) => `${a & (0xff << (8 - n))}.0.0.0/${n}`),
        fc.constantFrom("0.0.0.0/0", "2001:db8::/32", "::/0", "fd00::1/128", "::ffff:10.0.0.0/104"),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc
          .tuple(octet, octet, octet, octet, fc.integer({ min: 0, max: 33 }))
          .map(([a, b, c, d, n]) => `${a}.${b}.${c}.${d}/${n}`),
        fc.constantFrom(...ODD_PREFIXES),
      ),
    },
  );
  const note = rarely(
    fc.string({ unit: "grapheme", maxLength: 60 }),
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 10 }),
      fc.constantFrom("é".repeat(150), "x".repeat(201), '"}],"maps":{', "\\", "\u0001", "\u2028"),
    ),
  );
  const unknownMember = rarely(
    fc.constant(undefined),
    fc.constantFrom<Record<string, number>>({ x: 1 }, { prefixlen: 0 }, { id2: 3 }),
  );
  const record = (fields: Record<string, fc.Arbitrary<unknown>>) =>
    fc
      .tuple(fc.record(fields, { requiredKeys: [] }), unknownMember)
      .map(([r, extra]) => ({ ...r, ...extra }));
  const key = (fields: Record<string, fc.Arbitrary<unknown>>) => rarely(fc.record(fields), record(fields));
  const entries = (k: Record<string, fc.Arbitrary<unknown>>, v: Record<string, fc.Arbitrary<unknown>>) =>
    fc.array(
      fc
        .tuple(key(k), record(v), fc.option(note, { nil: undefined }))
        .map(([kr, vr, n]) => ({ key: kr, value: vr, ...(n === undefined ? {} : { note: n }) }) as MapEntry),
      { maxLength: 5 },
    );
  const small = fc.integer({ min: 0, max: 5 });
  const mapsArb = fc
    .tuple(
      fc.record(
        {
          fos1_qos_classes: entries({ class_id: small }, { skb_priority: u32, dscp }),
          fos1_app_policy: entries({ app_id: small }, { class_id: u32, flags: u32 }),
          fos1_route_policy: entries({ segment_id: small, app_id: small }, { mark: u32 }),
          fos1_app_deny: entries({ segment_id: small, app_id: small }, { rule: u32 }),
          fos1_segments: entries({ prefix }, { id: u32 }),
          fos1_inspect_select: entries({ prefix }, { id: u32 }),
          fos1_critical: entries({ prefix }, { id: small }),
          fos1_watch: entries({ prefix }, { id: small }),
        },
        { requiredKeys: [] },
      ),
      rarely(fc.constant(undefined), fc.constantFrom({ fos1_flows: [] }, { fos1_nothing: [] })),
    )
    .map(([maps, odd]) => ({ ...maps, ...odd }));

  it.each(ODD_PREFIXES)("the prefix %j: read as writePrefix reads it, or left to it", (text) => {
    const base = golden[1]!;
    const maps = { fos1_watch: [{ key: { prefix: text }, value: { id: 1 } }] };
    const body = JSON.stringify(sealProgram(base.metadata, { ...base.spec, maps }));
    const full = parsedInFull(body)!;
    const fast = read(body);
    const expected = outcome(full);
    if (fast) expect(outcome(fast)).toEqual(expected);
    else expect(expected).toMatchObject({ conflict: false });
  });

  it("reads what JSON.parse and the codecs read, and declines only what needs escapes or the codecs refuse", () => {
    const base = golden[1]!;
    let readCount = 0;
    fc.assert(
      fc.property(mapsArb, (maps) => {
        const spec: NodeProgramSpec = { ...base.spec, maps: maps as NodeProgramSpec["maps"] };
        const body = JSON.stringify(sealProgram(base.metadata, spec));
        const full = parsedInFull(body);
        const fast = read(body);
        if (fast) {
          readCount++;
          expect(full).toBeDefined();
          expect(outcome(fast)).toEqual(outcome(full!));
          expect(fast).toEqual(full);
          expect(hashMatches(fast)).toBe(true);
          return;
        }
        const mapsText = JSON.stringify(full?.spec.maps ?? {});
        const plain =
          full !== undefined &&
          !mapsText.includes("\\") &&
          Object.values(full.spec.maps).every((list) =>
            list.every((e) => e.note === undefined || Buffer.byteLength(e.note) <= 200),
          );
        if (plain) {
          // Then some map or entry is one the codecs refuse on its own.
          const alone = (maps: NodeProgramSpec["maps"]) => outcome({ ...full, spec: { ...full.spec, maps } });
          const refused = Object.entries(full.spec.maps).some(
            ([name, list]) =>
              "refused" in alone({ [name]: [] }) || list.some((e) => "refused" in alone({ [name]: [e] })),
          );
          expect(refused).toBe(true);
        }
      }),
      { numRuns: 600 },
    );
    expect(readCount).toBeGreaterThan(50);
  });
});

describe("readSealedBody: anything else is left to JSON.parse and the full hash", () => {
  const program = sealed(golden[2]!);

  it("a body that is not JSON.stringify of a sealed program, though its hash is right", () => {
    expect(read(JSON.stringify(program))).toBeDefined();
    expect(read(JSON.stringify(program, null, 2))).toBeUndefined();
    expect(read(JSON.stringify(golden[2]!))).toBeUndefined();
    const { apiVersion, kind, metadata, spec, hash } = program;
    expect(read(JSON.stringify({ kind, apiVersion, metadata, spec, hash }))).toBeUndefined();
  });

  it("a wrong hash", () => {
    expect(read(JSON.stringify({ ...program, hash: "0".repeat(64) }))).toBeUndefined();
  });

  it("maps bytes that are two members: JSON.parse would keep only the last", () => {
    const real = canonicalJson(program.spec.maps);
    expect(read(withMapsText(program, real))).toBeDefined();
    expect(read(withMapsText(program, `{},"maps":${real}`))).toBeUndefined();
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
    ["a leading zero", real.replace(/"mark":(\d+)/, '"mark":0$1')],
    ["an escape", real.replace('"note":"any', '"note":"\\u0061ny')],
    ["a key escaped", real.replace('"note":', '"\\u006eote":')],
    ["a control character", real.replace('"note":"any', '"note":"\u0001any')],
    ["a map twice", real.replace(/^\{("fos1_route_policy":\[.*?\]),/, "{$1,$1,")],
    ["no closing brace", real.slice(0, -1)],
  ];

  it.each(mutants)("maps bytes with %s", (_what, maps) => {
    expect(maps).not.toBe(real);
    expect(read(withMapsText(program, maps))).toBeUndefined();
  });

  it("maps bytes cut short anywhere, or ending the body: the native reader declines them within the buffer", () => {
    const maps = Buffer.from(
      canonicalJson({
        ...program.spec.maps,
        fos1_segments: [{ key: { prefix: "2001:db8::/32" }, value: { id: 1 } }],
      }),
    );
    const from = 8;
    const body = Buffer.concat([Buffer.from('{"maps":'), maps, Buffer.from("}")]);
    expect(readCanonicalMaps(body, from)?.end).toBe(from + maps.length);
    for (let cut = from; cut < from + maps.length; cut++) {
      expect(readCanonicalMaps(body.subarray(0, cut), from)).toBeUndefined();
    }
    expect(readCanonicalMaps(body, body.length)).toBeUndefined();
    expect(readCanonicalMaps(body, body.length + 1)).toBeUndefined();
  });

  it("bytes that are not UTF-8, which JSON.parse reads as U+FFFD", () => {
    const body = Buffer.from(
      withMapsText(program, real.replace('"note":"any', '"note":"\u00ffany')),
      "latin1",
    );
    expect(parseProgramBody(JSON.parse(body.toString("utf8"))).success).toBe(true);
    expect(read(body)).toBeUndefined();
  });

  it("reads a program only when its hash is right, whatever the maps bytes are", () => {
    const texts = fc.oneof(
      fc.constantFrom(real, ...mutants.map(([, m]) => m)),
      fc
        .dictionary(fc.constantFrom("fos1_app_policy", "fos1_app_deny", "__proto__", "10"), fc.constant([]))
        .map((d) => JSON.stringify(d)),
      fc.jsonValue().map((v) => JSON.stringify({ fos1_app_deny: [{ key: { app_id: 1 }, value: { x: v } }] })),
      fc.string({ maxLength: 40 }).map((s) => `{"fos1_app_deny":[{"key":{"app_id":1${s}`),
    );
    fc.assert(
      fc.property(texts, (maps) => {
        const fast = read(withMapsText(program, maps));
        if (fast) expect(hashMatches(fast)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
