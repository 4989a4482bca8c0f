import { z } from "zod";
import type { CommandRunner } from "./command";
import { parseToolJson } from "./tool-json";

export type IpFamily = "inet" | "inet6";

const familyFlag = (family: IpFamily) => (family === "inet" ? "-4" : "-6");

/** The table `ip` names a route's table when it omits the field: main. */
const MAIN_TABLE = 254;

const hex32 = z
  .string()
  .regex(/^0x[0-9a-f]{1,8}$/i)
  .transform((s) => parseInt(s, 16) >>> 0);
const numeric = z
  .string()
  .regex(/^\d+$/)
  .transform((s) => Number(s));

const ipRuleJson = z.object({
  priority: z.number().int(),
  fwmark: hex32.optional(),
  fwmask: hex32.optional(),
  table: numeric.optional(),
  protocol: numeric.optional(),
});

export interface IpRuleState {
  readonly family: IpFamily;
  readonly priority: number;
  readonly fwmark?: number;
  /** ip prints no mask for a full one. */
  readonly mask: number;
  readonly table?: number;
  readonly protocol?: number;
}

/** The family's rules, numbers not names (`-N`), so tables and protocols compare as numbers. */
export async function listRules(runner: CommandRunner, family: IpFamily): Promise<IpRuleState[]> {
  const out = await runner.run({
    file: "ip",
    args: ["-N", "-j", familyFlag(family), "rule", "show"],
    writes: false,
  });
  return parseToolJson(z.array(ipRuleJson), out, `ip -N -j ${familyFlag(family)} rule show`).map((r) => ({
    family,
    priority: r.priority,
    fwmark: r.fwmark,
    mask: r.fwmask ?? 0xffffffff,
    table: r.table,
    protocol: r.protocol,
  }));
}

const ipRouteJson = z.object({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  table: numeric.optional(),
});

export interface IpRouteState {
  readonly family: IpFamily;
  readonly table: number;
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
}

/** The family's routes of one protocol, in every table (`ip route show table all proto N`). */
export async function listRoutes(
  runner: CommandRunner,
  family: IpFamily,
  protocol: number,
): Promise<IpRouteState[]> {
  const args = ["-N", "-j", familyFlag(family), "route", "show", "table", "all", "proto", String(protocol)];
  const out = await runner.run({ file: "ip", args, writes: false });
  return parseToolJson(z.array(ipRouteJson), out, `ip ${args.join(" ")}`).map((r) => ({
    family,
    table: r.table ?? MAIN_TABLE,
    dst: r.dst,
    via: r.gateway,
    dev: r.dev,
  }));
}

/** Names of the node's network devices. */
export async function listLinks(runner: CommandRunner): Promise<string[]> {
  const out = await runner.run({ file: "ip", args: ["-j", "link", "show"], writes: false });
  return parseToolJson(z.array(z.object({ ifname: z.string() })), out, "ip -j link show").map(
    (l) => l.ifname,
  );
}

/** Runs one family's commands in one ip process; ip stops at the first failing line. */
export async function ipBatch(
  runner: CommandRunner,
  family: IpFamily,
  lines: readonly string[],
): Promise<void> {
  await runner.run({
    file: "ip",
    args: [familyFlag(family), "-batch", "-"],
    input: lines.join("\n") + "\n",
    writes: true,
  });
}
