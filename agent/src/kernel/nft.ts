import { z } from "zod";
import type { CommandRunner } from "./command";
import { parseToolJson } from "./tool-json";

/** Families nftables tables live in. */
export const NFT_FAMILIES = ["ip", "ip6", "inet", "arp", "bridge", "netdev"] as const;
export type NftFamily = (typeof NFT_FAMILIES)[number];

export interface NftTableRef {
  readonly family: NftFamily;
  readonly name: string;
}

/** A value nft prints for a set element: an address, a number, a protocol name, or a composite of them. */
export type NftValue =
  | string
  | number
  | { concat: NftValue[] }
  | { prefix: { addr: string; len: number } }
  | { range: [NftValue, NftValue] };

// Values come from the kernel and are written back into an nft script: only characters an element can hold.
const atom = z.union([
  z.string().regex(/^[0-9A-Za-z_.:\-/]+$/, "not an element value nft prints"),
  z.number().int(),
]);
const value: z.ZodType<NftValue> = z.lazy(() =>
  z.union([
    atom,
    z.strictObject({ concat: z.array(value).min(1) }),
    z.strictObject({
      prefix: z.strictObject({ addr: z.string().regex(/^[0-9A-Fa-f.:]+$/), len: z.number().int() }),
    }),
    z.strictObject({ range: z.tuple([value, value]) }),
  ]),
);

export const nftElement = z.union([
  value,
  z.object({
    elem: z.object({
      val: value,
      /** Seconds the element was added with. */
      timeout: z.number().int().min(0).optional(),
      /** Seconds it has left. */
      expires: z.number().int().min(0).optional(),
      comment: z
        .string()
        .regex(/^[^"\n\\]*$/)
        .optional(),
    }),
  }),
]);
export type NftElement = z.infer<typeof nftElement>;

const nftSet = z.object({
  family: z.enum(NFT_FAMILIES),
  table: z.string(),
  name: z.string(),
  type: z.union([z.string(), z.array(z.string())]).optional(),
  elem: z.array(nftElement).optional(),
});
export type NftSet = z.infer<typeof nftSet>;

const listing = z.object({
  nftables: z.array(
    z.looseObject({
      table: z.object({ family: z.enum(NFT_FAMILIES), name: z.string() }).optional(),
      set: nftSet.optional(),
    }),
  ),
});

/** Every table in the ruleset (`nft -j list tables`). */
export async function listTables(runner: CommandRunner): Promise<NftTableRef[]> {
  const out = await runner.run({ file: "nft", args: ["-j", "list", "tables"], writes: false });
  return parseToolJson(listing, out, "nft -j list tables").nftables.flatMap((o) =>
    o.table ? [{ family: o.table.family, name: o.table.name }] : [],
  );
}

/**
 * A table as nft prints it, without set contents (`-t`) and without counter
 * values (`-s`): the policy half of the table, comparable line by line.
 */
export async function tableListing(runner: CommandRunner, table: NftTableRef): Promise<string> {
  return runner.run({
    file: "nft",
    args: ["-t", "-s", "list", "table", table.family, table.name],
    writes: false,
  });
}

/** The table's sets with their elements: the runtime half that must survive a re-created table. */
export async function tableSets(runner: CommandRunner, table: NftTableRef): Promise<NftSet[]> {
  const out = await runner.run({
    file: "nft",
    args: ["-j", "list", "table", table.family, table.name],
    writes: false,
  });
  return parseToolJson(listing, out, `nft -j list table ${table.family} ${table.name}`).nftables.flatMap(
    (o) => (o.set ? [o.set] : []),
  );
}

/** Runs one script as one transaction: the kernel applies all of it or none. */
export async function nftTransaction(runner: CommandRunner, script: string): Promise<void> {
  await runner.run({ file: "nft", args: ["-f", "-"], input: script, writes: true });
}

/** An element as nft script text, keeping the time it has left (at least a second) rather than its original timeout. */
export function renderElement(element: NftElement): string {
  if (typeof element !== "object" || !("elem" in element)) return renderValue(element);
  const { val, timeout, expires, comment } = element.elem;
  const parts = [renderValue(val)];
  const left = expires ?? timeout;
  if (left !== undefined) parts.push(`timeout ${Math.max(1, left)}s`);
  if (comment !== undefined) parts.push(`comment "${comment}"`);
  return parts.join(" ");
}

function renderValue(v: NftValue): string {
  if (typeof v !== "object") return String(v);
  if ("concat" in v) return v.concat.map(renderValue).join(" . ");
  if ("prefix" in v) return `${v.prefix.addr}/${v.prefix.len}`;
  return `${renderValue(v.range[0])}-${renderValue(v.range[1])}`;
}
