import { z } from "zod";
import { addressBytes, addressText } from "./address";
import { fieldSize, LAYOUTS, type FieldLayout, type StructLayout } from "./layout";

const u8 = z.number().int().min(0).max(0xff);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);
const u64 = z.bigint().min(0n).max(0xffffffffffffffffn);
const address = z.string().refine(
  (s) => {
    try {
      addressBytes(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not an IPv4 or IPv6 address" },
);
const u64Pair = z.tuple([u64, u64]);
const mac = z
  .string()
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "expected a MAC address as 6 lower-case hex pairs");

/** Values as user space writes and reads them; every integer range is the C type's. */
export const schemas = {
  config: z.object({
    flags: u32,
    sampleOneIn: u32,
    reinspectAfterNs: u64,
    mirrorIfindex: u32,
    fwmarkMask: u32,
    classMarkMask: u32,
    classMarkShift: z.number().int().min(0).max(31),
    offloadLeaseUntilNs: u64,
    blockGeneration: u32,
    policyGeneration: u32,
    nexthopTtlNs: u64,
    /** The agent's load shedding, a runtime switch: a writer that predates it leaves it off. */
    loadSampleOneIn: u32.default(0),
  }),
  qosClass: z.object({ skbPriority: u32, dscp: z.number().int().min(0).max(63) }),
  appPolicy: z.object({ classId: u32, flags: u32 }),
  routeKey: z.object({ segmentId: u32, appId: u32 }),
  routeTarget: z.object({ mark: u32 }),
  lpmKey: z.object({ prefixlen: z.number().int().min(0).max(128), addr: address }),
  addr: z.object({ addr: address }),
  flowKey: z.object({
    addrA: address,
    addrB: address,
    portA: u16,
    portB: u16,
    vlanId: z.number().int().min(0).max(4095),
    proto: u8,
  }),
  flow: z.object({
    state: u32,
    flags: u32,
    appId: u32,
    classId: u32,
    mark: u32,
    segmentId: u32,
    sampleCount: u32,
    blockGen: u32,
    nhIfindex: z.tuple([u32, u32]),
    nhMtu: z.tuple([u16, u16]),
    nhSmac: z.tuple([mac, mac]),
    nhDmac: z.tuple([mac, mac]),
    dscp: u8,
    packets: u64Pair,
    bytes: u64Pair,
    firstSeenNs: u64,
    lastSeenNs: u64,
    offloadDeadlineNs: u64,
    nhCheckedNs: u64Pair,
    appGen: u32,
    appKey: u32,
    appClassId: u32,
    appFlags: u32,
    qosGen: u32,
    qosKey: u32,
    qosSkbPriority: u32,
    qosDscp: u8,
    qosFound: u8,
  }),
  block: z.object({ expiresNs: u64, reason: u32 }),
  appDest: z.object({ appId: u32, expiresNs: u64 }),
} as const;

export type StructName = keyof typeof LAYOUTS;
/** A value as decode returns it: every member. */
export type AbiValue<N extends StructName> = z.output<(typeof schemas)[N]>;
/** A value as encode takes it: members with a default (written as 0) may be left out. */
export type AbiInput<N extends StructName> = z.input<(typeof schemas)[N]>;

export type Config = AbiInput<"config">;
export type QosClass = AbiValue<"qosClass">;
export type AppPolicy = AbiValue<"appPolicy">;
export type RouteKey = AbiValue<"routeKey">;
export type RouteTarget = AbiValue<"routeTarget">;
export type LpmKey = AbiValue<"lpmKey">;
export type Addr = AbiValue<"addr">;
export type FlowKey = AbiValue<"flowKey">;
export type Flow = AbiValue<"flow">;
export type Block = AbiValue<"block">;
export type AppDest = AbiValue<"appDest">;

type Scalar = number | bigint | string;

function writeOne(buf: Buffer, kind: FieldLayout["kind"], at: number, v: Scalar): void {
  switch (kind) {
    case "u8":
      buf.writeUInt8(v as number, at);
      return;
    case "u16":
      buf.writeUInt16LE(v as number, at);
      return;
    case "be16":
      buf.writeUInt16BE(v as number, at);
      return;
    case "u32":
      buf.writeUInt32LE(v as number, at);
      return;
    case "u64":
      buf.writeBigUInt64LE(v as bigint, at);
      return;
    case "addr":
      addressBytes(v as string).copy(buf, at);
      return;
    case "mac":
      Buffer.from((v as string).replace(/:/g, ""), "hex").copy(buf, at);
      return;
    case "pad":
      return;
  }
}

function readOne(buf: Buffer, kind: FieldLayout["kind"], at: number): Scalar {
  switch (kind) {
    case "u8":
      return buf.readUInt8(at);
    case "u16":
      return buf.readUInt16LE(at);
    case "be16":
      return buf.readUInt16BE(at);
    case "u32":
      return buf.readUInt32LE(at);
    case "u64":
      return buf.readBigUInt64LE(at);
    case "addr":
      return addressText(buf.subarray(at, at + 16));
    case "mac":
      return [...buf.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
    case "pad":
      return 0;
  }
}

/** Map memory is host order; the data plane and its tests run on little-endian machines. */
function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("sdk/abi: big-endian hosts are not supported (map memory is host order)");
  }
}

/**
 * Encodes a key or value for a map write. Invalid input throws one line per
 * problem, as `struct.field: reason`.
 */
export function encode<N extends StructName>(name: N, value: AbiInput<N>): Buffer {
  assertLittleEndian();
  const layout: StructLayout = LAYOUTS[name];
  const parsed = schemas[name].safeParse(value);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues
        .map((i) => `${layout.c}${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`)
        .join("\n"),
    );
  }
  const data = parsed.data as Record<string, Scalar | Scalar[]>;
  const buf = Buffer.alloc(layout.size);
  for (const field of layout.fields) {
    if (field.kind === "pad") continue;
    const v = data[field.ts]!;
    const step = fieldSize(field) / (field.count ?? 1);
    const items = Array.isArray(v) ? v : [v];
    items.forEach((item, i) => writeOne(buf, field.kind, field.offset + i * step, item));
  }
  return buf;
}

/** Decodes a key or value read from a map; the buffer must be exactly the struct's size. */
export function decode<N extends StructName>(name: N, buf: Buffer): AbiValue<N> {
  assertLittleEndian();
  const layout: StructLayout = LAYOUTS[name];
  if (buf.length !== layout.size) {
    throw new Error(`${layout.c}: ${buf.length} bytes, expected ${layout.size}`);
  }
  const out: Record<string, Scalar | Scalar[]> = {};
  for (const field of layout.fields) {
    if (field.kind === "pad") continue;
    if (field.count === undefined) {
      out[field.ts] = readOne(buf, field.kind, field.offset);
    } else {
      const step = fieldSize(field) / field.count;
      out[field.ts] = Array.from({ length: field.count }, (_, i) =>
        readOne(buf, field.kind, field.offset + i * step),
      );
    }
  }
  return out as AbiValue<N>;
}

/** A __u32 key or value (class_id, app_id, LPM values, the config index). */
export function encodeU32(value: number): Buffer {
  const v = u32.safeParse(value);
  if (!v.success) throw new Error(`__u32: ${JSON.stringify(value)} is not an integer in 0..4294967295`);
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(v.data);
  return buf;
}

export function decodeU32(buf: Buffer): number {
  if (buf.length !== 4) throw new Error(`__u32: ${buf.length} bytes, expected 4`);
  return buf.readUInt32LE(0);
}
