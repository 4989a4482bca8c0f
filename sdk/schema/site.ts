import { z } from "zod";
import { documentSchema, reportDuplicates } from "./document";
import { bandwidth, cidr, interfaceName, ipAddress, name } from "./quantities";

/** Tables the kernel reserves: unspec, default, main, local. */
const RESERVED_TABLES = new Set([0, 253, 254, 255]);

/** Mark bits fos1-dpi owns by default: clear of kube-proxy (0x4000, 0x8000), Calico (0xffff0000) and Cilium (0x0f00). */
export const DEFAULT_FWMARK_MASK = 0xf0;

const hexOrNumber = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === "number" ? value : /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : NaN;
  if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) {
    ctx.addIssue({
      code: "custom",
      message: `expected a 32-bit mask such as "0xf0", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return n;
});

const uplink = z.strictObject({
  name,
  /** The router's interface towards this uplink. */
  interface: interfaceName,
  /** Egress bandwidth of the uplink; QoS percentages are of this. */
  bandwidth,
  gateway: ipAddress,
  /** Routing table holding this uplink's default route. @default 100 + position (101, 102, ...) */
  table: z.number().int().min(1).max(0xffffffff).optional(),
  /** fwmark selecting this uplink; must lie within `fwmarkMask`. @default position * lowest mask bit */
  mark: hexOrNumber.optional(),
  /** The uplink `default-internet` names. At most one. @default the first uplink */
  default: z.boolean().optional(),
});

const segment = z
  .strictObject({
    name,
    prefixes: z.array(cidr).default([]),
    interfaces: z.array(interfaceName).default([]),
  })
  .refine((s) => s.prefixes.length + s.interfaces.length > 0, {
    message: "a segment needs prefixes or interfaces",
  });

const node = z.strictObject({
  name,
  agent: z.strictObject({
    /** The node agent's API. HTTPS only: requests carry the agent token. */
    url: z.url({ protocol: /^https$/, error: "must be an https URL (the agent API carries credentials)" }),
  }),
  /** Interface names on this node where they differ from the site's: uplink name -> interface. */
  interfaces: z.record(name, interfaceName).optional(),
});

/** Site: one router site (a Pulumi stack): its uplinks, segments and router nodes. */
export const siteSpec = z
  .strictObject({
    uplinks: z.array(uplink).min(1, "a site needs at least one uplink"),
    lan: z.strictObject({ interfaces: z.array(interfaceName).min(1), prefixes: z.array(cidr).default([]) }),
    segments: z.array(segment).default([]),
    nodes: z.array(node).min(1, "a site needs at least one node"),
    fwmarkMask: hexOrNumber.default(DEFAULT_FWMARK_MASK),
  })
  .superRefine((spec, ctx) => {
    const at = (list: string, field: string) => (i: number) => [list, i, field];
    reportDuplicates(
      ctx,
      spec.uplinks.map((u) => u.name),
      at("uplinks", "name"),
      "uplink name",
    );
    reportDuplicates(
      ctx,
      spec.uplinks.map((u) => u.interface),
      at("uplinks", "interface"),
      "uplink interface",
    );
    reportDuplicates(
      ctx,
      spec.segments.map((s) => s.name),
      at("segments", "name"),
      "segment name",
    );
    reportDuplicates(
      ctx,
      spec.nodes.map((n) => n.name),
      at("nodes", "name"),
      "node name",
    );
    const tables = uplinkTables(spec.uplinks);
    reportDuplicates(ctx, tables.map(String), at("uplinks", "table"), "routing table");
    tables.forEach((table, i) => {
      if (RESERVED_TABLES.has(table)) {
        ctx.addIssue({
          code: "custom",
          path: ["uplinks", i, "table"],
          message: `table ${table} is reserved by the kernel`,
        });
      }
    });
    const defaults = spec.uplinks.flatMap((u, i) => (u.default ? [i] : []));
    for (const i of defaults.slice(1)) {
      ctx.addIssue({
        code: "custom",
        path: ["uplinks", i, "default"],
        message: "only one uplink may be the default",
      });
    }
    const marks = uplinkMarks(spec.uplinks, spec.fwmarkMask);
    reportDuplicates(ctx, marks.map(String), at("uplinks", "mark"), "mark");
    marks.forEach((mark, i) => {
      if (mark === 0 || (mark & ~spec.fwmarkMask) !== 0) {
        ctx.addIssue({
          code: "custom",
          path: ["uplinks", i, spec.uplinks[i].mark === undefined ? "name" : "mark"],
          message: `mark 0x${mark.toString(16)} does not fit fwmarkMask 0x${spec.fwmarkMask.toString(16)} (too many uplinks for the mask, or bits outside it)`,
        });
      }
    });
    const uplinkNames = new Set(spec.uplinks.map((u) => u.name));
    spec.nodes.forEach((n, i) => {
      for (const key of Object.keys(n.interfaces ?? {})) {
        if (!uplinkNames.has(key)) {
          ctx.addIssue({
            code: "custom",
            path: ["nodes", i, "interfaces", key],
            message: `no uplink named "${key}" on this site`,
          });
        }
      }
    });
  });

/** Each uplink's routing table, defaults applied. */
export function uplinkTables(uplinks: readonly { table?: number }[]): number[] {
  return uplinks.map((u, i) => u.table ?? 101 + i);
}

/** Each uplink's fwmark, defaults applied: multiples of the mask's lowest set bit. */
export function uplinkMarks(uplinks: readonly { mark?: number }[], mask: number): number[] {
  const step = mask & -mask;
  return uplinks.map((u, i) => (u.mark ?? (i + 1) * step) >>> 0);
}

export const site = documentSchema("Site", siteSpec);
export type Site = z.output<typeof site>;
export type SiteSpec = z.output<typeof siteSpec>;
