import { z } from "zod";
import { CommandError, type CommandRunner } from "./command";
import { parseTcRate } from "./tc-rate";
import { parseToolJson, ToolOutputError } from "./tool-json";

/** A tc handle `major:minor` in the one spelling tc prints: lower-case hex, no leading zeros, empty minor for qdiscs. */
export function canonicalHandle(handle: string): string {
  const match = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{0,4})$/.exec(handle);
  if (!match) throw new Error(`"${handle}" is not a tc handle`);
  const major = parseInt(match[1], 16).toString(16);
  return match[2] === "" ? `${major}:` : `${major}:${parseInt(match[2], 16).toString(16)}`;
}

export const tcQdisc = z.object({
  kind: z.string(),
  handle: z.string(),
  dev: z.string(),
  root: z.boolean().optional(),
  parent: z.string().optional(),
  options: z.looseObject({ r2q: z.number().optional(), default: z.string().optional() }).optional(),
});
export type TcQdisc = z.infer<typeof tcQdisc>;

/** Every qdisc of every device, root and child (`tc -j qdisc show`): one read shows which devices exist and what they hold. */
export async function listQdiscs(runner: CommandRunner): Promise<TcQdisc[]> {
  const out = await runner.run({ file: "tc", args: ["-j", "qdisc", "show"], writes: false });
  return parseToolJson(z.array(tcQdisc), out, "tc -j qdisc show");
}

export const tcClass = z.object({
  kind: z.string(),
  classid: z.string(),
  /** The parent class, or the qdisc handle (`1:`) for a class at the root. */
  parent: z.string(),
  /** Handle of the qdisc attached under this class, if any. */
  leaf: z.string().optional(),
  /** HTB prints prio and quantum only for leaf classes: they mean nothing on inner ones. */
  prio: z.number().int().optional(),
  quantum: z.number().int().optional(),
  rateBps: z.number().optional(),
  ceilBps: z.number().optional(),
  level: z.number().int().optional(),
});
export type TcClassState = z.infer<typeof tcClass>;

/**
 * The classes of one device. iproute2 6.1 prints classes as text even with
 * `-j`, so the detailed text form (`-d`, which adds quantum and level) is
 * parsed; rates come back as tc rounds them (see tc-rate.ts).
 */
export async function listClasses(runner: CommandRunner, device: string): Promise<TcClassState[]> {
  const out = await runner.run({ file: "tc", args: ["-d", "class", "show", "dev", device], writes: false });
  return parseClassText(out, `tc -d class show dev ${device}`);
}

const FLAGS = new Set(["root"]);

export function parseClassText(text: string, tool: string, rootHandle = "1:"): TcClassState[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((line, index) => {
      const tokens = line.split(/\s+/);
      if (tokens[0] !== "class" || tokens.length < 3) {
        throw new ToolOutputError(tool, `line ${index + 1}`, `not a class line: "${line}"`);
      }
      const fields: Record<string, string> = {};
      for (let i = 3; i < tokens.length; i++) {
        if (FLAGS.has(tokens[i])) fields[tokens[i]] = "true";
        // `mpu` follows both burst and cburst; the first is enough.
        else if (!(tokens[i] in fields)) fields[tokens[i]] = tokens[++i] ?? "";
        else i++;
      }
      const int = (key: string) => (fields[key] === undefined ? undefined : Number(fields[key]));
      const rate = (key: string) => (fields[key] === undefined ? undefined : parseTcRate(fields[key]));
      let parsed: unknown;
      try {
        const classid = canonicalHandle(tokens[2]);
        parsed = {
          kind: tokens[1],
          classid,
          parent: fields.root ? canonicalHandle(rootHandle) : canonicalHandle(fields.parent ?? ""),
          leaf: fields.leaf,
          prio: int("prio"),
          quantum: int("quantum"),
          rateBps: rate("rate"),
          ceilBps: rate("ceil"),
          level: int("level"),
        };
      } catch (error) {
        throw new ToolOutputError(tool, `line ${index + 1}`, (error as Error).message);
      }
      const checked = tcClass.safeParse(parsed);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new ToolOutputError(tool, `line ${index + 1}.${issue.path.join(".")}`, issue.message);
      }
      return checked.data;
    });
}

/** Runs one device's commands in one tc process; tc stops at the first failing line. */
export async function tcBatch(runner: CommandRunner, lines: readonly string[]): Promise<void> {
  await runner.run({ file: "tc", args: ["-batch", "-"], input: lines.join("\n") + "\n", writes: true });
}

/**
 * Whether the kernel has a qdisc kind, tried on the loopback of a throwaway
 * network namespace so no device of the node is touched.
 */
export async function qdiscSupported(runner: CommandRunner, kind: string): Promise<boolean> {
  try {
    await runner.run({
      file: "unshare",
      args: ["--net", "tc", "qdisc", "add", "dev", "lo", "root", kind],
      writes: false,
    });
    return true;
  } catch (error) {
    if (error instanceof CommandError && /unknown/i.test(error.stderr)) return false;
    throw error;
  }
}
