import { z } from "zod";
import { addressBytes, addressText } from "../../../sdk/abi/address";
import type { BlockTarget, Decision } from "../../../sdk/decide/decisions";
import { flowProtocolSchema } from "../../../sdk/events/dpi-event";
import { ipAddress, name } from "../../../sdk/schema/quantities";
import { formatPath, problemsFromZod, ValidationError } from "../../../sdk/schema/problem";

/**
 * What the cluster shares through etcd, one key per entry:
 *
 *   /fos1/<site>/blocks/source/<address>
 *   /fos1/<site>/blocks/destination/<address>
 *   /fos1/<site>/blocks/flow/<protocol>/<src>/<sport>/<dst>/<dport>
 *   /fos1/<site>/destinations/<address>
 *
 * Values are JSON records naming the node that published them and the
 * absolute expiry (epoch ms). Addresses are written in one canonical text
 * form (the maps' own: dotted IPv4, compressed lower-case IPv6), so every
 * node computes the same key for the same target. A record is only accepted
 * at the key its own content names, so a value cannot smuggle a block onto
 * another target's key.
 */

export type BlockDecision = Extract<Decision, { kind: "block" }>;
export type DestinationDecision = Extract<Decision, { kind: "learn-destination" }>;

/** A block as every node applies it. */
export interface ClusterBlock {
  readonly key: string;
  readonly target: BlockTarget;
  readonly reason: string;
  /** The node whose inspection caused the block. */
  readonly origin: string;
  /** Epoch ms after which no node enforces it, whatever etcd still holds. */
  readonly expiresAt: number;
}

/** An application -> destination cache entry as every node applies it. */
export interface ClusterDestination {
  readonly key: string;
  readonly address: string;
  readonly appId: number;
  readonly app: string;
  readonly source: DestinationDecision["source"];
  readonly origin: string;
  readonly expiresAt: number;
}

export type ClusterEntry =
  | { readonly kind: "block"; readonly entry: ClusterBlock }
  | { readonly kind: "destination"; readonly entry: ClusterDestination };

/** The address in the maps' canonical text, or undefined for anything that is not an IPv4/IPv6 address. */
export function canonicalAddress(address: string): string | undefined {
  try {
    return addressText(addressBytes(address));
  } catch {
    return undefined;
  }
}

const address = ipAddress.transform((value) => canonicalAddress(value) as string);
const port = z.number().int().min(0).max(65535);
const epochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const flowRefSchema = z.object({
  srcIp: address,
  dstIp: address,
  srcPort: port,
  dstPort: port,
  protocol: flowProtocolSchema,
});

const blockTargetSchema = z.discriminatedUnion("scope", [
  z.object({ scope: z.literal("source"), address }),
  z.object({ scope: z.literal("destination"), address }),
  z.object({ scope: z.literal("flow"), flow: flowRefSchema }),
]);

// Objects are not strict: a newer agent may add fields, and an older one must still apply what it understands.
const blockRecord = z.object({
  target: blockTargetSchema,
  reason: z.string().max(1000),
  origin: name,
  expiresAt: epochMs,
});

const destinationRecord = z.object({
  address,
  appId: z.number().int().min(1).max(65534),
  app: name,
  source: z.enum(["dns", "classification"]),
  origin: name,
  expiresAt: epochMs,
});

export type BlockRecord = z.output<typeof blockRecord>;
export type DestinationRecord = z.output<typeof destinationRecord>;

/** The key layout of one site. */
export class ClusterKeys {
  /** Everything this module owns for the site; the watch covers exactly this. */
  readonly prefix: string;
  readonly blocks: string;
  readonly destinations: string;

  constructor(site: string) {
    this.prefix = `/fos1/${name.parse(site)}/`;
    this.blocks = `${this.prefix}blocks/`;
    this.destinations = `${this.prefix}destinations/`;
  }

  block(target: BlockTarget): string {
    if (target.scope !== "flow") return `${this.blocks}${target.scope}/${target.address}`;
    const f = target.flow;
    return `${this.blocks}flow/${f.protocol}/${f.srcIp}/${f.srcPort}/${f.dstIp}/${f.dstPort}`;
  }

  destination(address: string): string {
    return `${this.destinations}${address}`;
  }
}

/** Why a stored value was not applied; `reason` is a short fixed word (a metric label), `detail` says where. */
export interface Rejection {
  readonly reason: "json" | "schema" | "key";
  readonly detail: string;
}

export type Parsed =
  { readonly ok: true; readonly value: ClusterEntry } | { readonly ok: false; readonly rejection: Rejection };

/** Which kind of entry lives at `key`, or undefined for keys this module does not own. */
export function kindOfKey(keys: ClusterKeys, key: string): ClusterEntry["kind"] | undefined {
  if (key.startsWith(keys.blocks)) return "block";
  if (key.startsWith(keys.destinations)) return "destination";
  return undefined;
}

/** Validates the value read at `key`: JSON, then the record schema, then that the record belongs at that key. */
export function parseEntry(
  keys: ClusterKeys,
  kind: ClusterEntry["kind"],
  key: string,
  value: string,
): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    return {
      ok: false,
      rejection: { reason: "json", detail: `${key}: not JSON (${(error as Error).message})` },
    };
  }
  let entry: ClusterEntry;
  let expected: string;
  if (kind === "block") {
    const result = blockRecord.safeParse(json);
    if (!result.success) return { ok: false, rejection: schemaRejection(key, result.error) };
    entry = { kind, entry: { key, ...result.data } };
    expected = keys.block(result.data.target);
  } else {
    const result = destinationRecord.safeParse(json);
    if (!result.success) return { ok: false, rejection: schemaRejection(key, result.error) };
    entry = { kind, entry: { key, ...result.data } };
    expected = keys.destination(result.data.address);
  }
  if (expected !== key)
    return { ok: false, rejection: { reason: "key", detail: `${key}: the record names ${expected}` } };
  return { ok: true, value: entry };
}

function schemaRejection(key: string, error: z.ZodError): Rejection {
  const issue = error.issues[0];
  return { reason: "schema", detail: `${key}: ${formatPath(issue.path) || "(value)"}: ${issue.message}` };
}

/** A TTL a decision may carry: whole milliseconds, up to etcd's longest practical lease. */
const ttlMs = z
  .number()
  .int()
  .min(1)
  .max(30 * 86_400_000);

// What a publishing node supplies: the record without its expiry, plus the TTL the expiry is computed from.
const blockPublication = blockRecord.omit({ expiresAt: true }).extend({ ttlMs });
const destinationPublication = destinationRecord.omit({ expiresAt: true }).extend({ ttlMs });

/** A block decision as stored (key and record); a bad decision throws a ValidationError naming the field. */
export function blockRecordOf(
  keys: ClusterKeys,
  decision: BlockDecision,
  origin: string,
  now: number,
): { key: string; record: BlockRecord } {
  const { ttlMs: ttl, ...rest } = parseOrThrow(
    blockPublication,
    { target: decision.target, reason: decision.reason, origin, ttlMs: decision.ttlMs },
    "block",
  );
  const record: BlockRecord = { ...rest, expiresAt: now + ttl };
  return { key: keys.block(record.target), record };
}

/** A learn-destination decision as stored; a bad decision throws a ValidationError naming the field. */
export function destinationRecordOf(
  keys: ClusterKeys,
  decision: DestinationDecision,
  origin: string,
  now: number,
): { key: string; record: DestinationRecord } {
  const { ttlMs: ttl, ...rest } = parseOrThrow(
    destinationPublication,
    {
      address: decision.address,
      appId: decision.appId,
      app: decision.app,
      source: decision.source,
      origin,
      ttlMs: decision.ttlMs,
    },
    "learn-destination",
  );
  const record: DestinationRecord = { ...rest, expiresAt: now + ttl };
  return { key: keys.destination(record.address), record };
}

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, context: string): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(problemsFromZod(result.error), context);
  return result.data;
}
