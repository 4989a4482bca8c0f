import fc from "fast-check";
import { isIP } from "node:net";
import { z } from "zod";
import { ndpiRecordSchema } from "@fos1/dpi/sdk/events";
import { fastSchema } from "@fos1/dpi/sdk/events/fast-schema";

// Every construct the engine record schemas use, so the compiled reader is
// held to zod's answer on each of them.
const ipText = z.string().refine((s) => isIP(s) !== 0, "expected an IPv4 or IPv6 address");
const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^[0-9]+$/)
    .transform(Number),
]);
const everything = z.object({
  ip: ipText.optional(),
  port: z.number().int().min(0).max(65535).optional(),
  flowId: z.number().nonnegative().refine(Number.isInteger, "expected an integer").optional(),
  text: z.string().min(1),
  kind: z.enum(["classified", "end"]).optional(),
  version: z.union([z.literal(4), z.literal(6)]).optional(),
  proto: z.union([z.string(), z.number().int().nonnegative()]).optional(),
  code: z
    .string()
    .regex(/^(TCP|UDP|[0-9]{1,3})$/)
    .optional(),
  vlan: z.array(z.number().int().min(0).max(4095)).optional(),
  counted: count.pipe(z.number().max(65535)).optional(),
  grouped: z.record(z.string(), z.array(z.unknown())).optional(),
  nested: z
    .object({
      hash: z.string().optional(),
      severity: z.number().int().optional(),
      data: z.unknown().optional(),
    })
    .optional(),
  loose: z.looseObject({ name: z.string().optional() }).optional(),
  strict: z.strictObject({ a: z.number() }).optional(),
  flag: z.boolean().optional(),
});

const KEYS = [...Object.keys(everything.shape), "other", "__proto__"];
const VALUES = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    "10.0.0.1",
    "::1",
    "TCP",
    "17",
    "classified",
    4,
    6,
    -1,
    0,
    65535,
    65536,
    1.5,
    2 ** 53,
    2 ** 64,
    "",
    [1, 2],
    [5000],
    { hash: "x" },
    { hash: 1 },
    { a: 1 },
    { a: 1, b: 2 },
    { name: "n", more: [1] },
    { A: ["1.2.3.4"] },
    "123",
  ),
);
// Half of them carry the one required field, so the reader's accepting path is exercised too.
const records = fc
  .tuple(fc.dictionary(fc.constantFrom(...KEYS), VALUES), fc.boolean())
  .map(([record, withText]) => (withText ? { text: "t", ...record } : record));

function expectSameAsZod(schema: z.ZodType, value: unknown): void {
  const fast = fastSchema(schema)(value);
  const zod = schema.safeParse(value);
  expect(fast.success).toBe(zod.success);
  if (zod.success) expect(fast.data).toEqual(zod.data);
  else expect(fast.error?.issues).toEqual(zod.error.issues);
}

describe("fastSchema gives exactly zod's result", () => {
  it("on arbitrary records over every construct the record schemas use", () => {
    fc.assert(
      fc.property(records, (record) => expectSameAsZod(everything, record)),
      { numRuns: 2000 },
    );
  });

  it("on arbitrary JSON values, objects or not", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectSameAsZod(everything, value)),
      { numRuns: 2000 },
    );
  });

  it("on the sensor's record schema with valid and damaged lines", () => {
    const line = {
      event: "classified",
      ts: 1432582379.571955,
      flow_id: 2,
      ip_version: 4,
      proto: "UDP",
      src_ip: "192.168.2.4",
      src_port: 61697,
      dst_ip: "192.168.2.1",
      dst_port: 53,
      app: "DNS.WhatsApp",
      master: "DNS",
      app_name: "WhatsApp",
      category: "Chat",
      confidence: "DPI",
      host: "e12.whatsapp.net",
      c2s_packets: 1,
      c2s_bytes: 76,
      s2c_packets: 1,
      s2c_bytes: 204,
      first_seen: 1432582379.543659,
      last_seen: 1432582379.571955,
      risk: [],
    };
    expectSameAsZod(ndpiRecordSchema, line);
    const keys = Object.keys(line);
    fc.assert(
      fc.property(fc.constantFrom(...keys), VALUES, (key, value) =>
        expectSameAsZod(ndpiRecordSchema, { ...line, [key]: value }),
      ),
      { numRuns: 3000 },
    );
  });

  it("strips unknown keys the way zod does, and keeps them for loose objects", () => {
    const parse = fastSchema(everything);
    const result = parse({ text: "t", other: 1, loose: { name: "n", more: true } });
    expect(result).toEqual({ success: true, data: { text: "t", loose: { name: "n", more: true } } });
  });

  it("leaves zod out for a value it can vouch for, and asks zod otherwise", () => {
    const schema = z.object({ port: z.number().int(), status: count.optional() });
    const safeParse = jest.spyOn(schema, "safeParse");
    const parse = fastSchema(schema);
    expect(parse({ port: 80, status: 200 })).toEqual({ success: true, data: { port: 80, status: 200 } });
    expect(safeParse).not.toHaveBeenCalled();
    // A transform is zod's to run.
    expect(parse({ port: 80, status: "200" })).toEqual({ success: true, data: { port: 80, status: 200 } });
    expect(safeParse).toHaveBeenCalledTimes(1);
  });

  it("answers with zod's error, path and message, for a rejected value", () => {
    const result = fastSchema(everything)({ text: "t", port: "80" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ["port"],
      message: "Invalid input: expected number, received string",
    });
  });
});
