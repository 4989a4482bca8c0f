import { createHash } from "node:crypto";
import type { NodeProgram } from "../../../sdk/compile/node-program";
import type { NftFamily, NftTableRef } from "../kernel/nft";
import { listingLines, rulesetTables } from "./nftables-ruleset";
import { ConflictError, type ProgramDrift } from "./reconciler";

/** Tables with this prefix are fos1-dpi's: one per program, and any nobody owns is removed. */
export const FOS1_TABLE_PREFIX = "fos1_";

export interface DesiredTable extends NftTableRef {
  readonly program: string;
  readonly ruleset: string;
  /** sha256 of the ruleset: the key under which the kernel's own listing of it is remembered. */
  readonly rulesetHash: string;
  /** The ruleset as listing lines; what the kernel should print unless it prints this ruleset differently. */
  readonly lines: readonly string[];
}

export interface NftDesired {
  readonly tables: readonly DesiredTable[];
}

export interface ActualTable extends NftTableRef {
  /** `nft -t -s list table`, as listing lines: no set elements, no counter values. */
  readonly lines: readonly string[];
}

export interface NftActual {
  /** Every `fos1_*` table in the ruleset, whoever's it is. */
  readonly tables: readonly ActualTable[];
}

export const tableKey = (t: NftTableRef): string => `${t.family} ${t.name}`;

/**
 * The tables the programs ask for. A ruleset may only declare the table its
 * program names; two programs naming the same table is a conflict, whatever
 * the family, because ownership (and clean-up of the unowned) is by name.
 */
export function desiredNftables(programs: readonly NodeProgram[]): NftDesired {
  const owners = new Map<string, string>();
  const tables: DesiredTable[] = [];
  for (const program of programs) {
    const spec = program.spec.nftables;
    if (!spec) continue;
    const name = program.metadata.name;
    let declared: NftTableRef[];
    try {
      declared = rulesetTables(spec.ruleset);
    } catch (error) {
      throw new ConflictError("spec.nftables.ruleset", `program ${name}: ${(error as Error).message}`);
    }
    const foreign = declared.find((t) => t.name !== spec.table);
    if (foreign || declared.length !== 1) {
      throw new ConflictError(
        "spec.nftables.ruleset",
        `program ${name}: the ruleset must declare exactly its own table ${spec.table}, ` +
          `it declares ${declared.map(tableKey).join(", ") || "none"}`,
      );
    }
    const owner = owners.get(spec.table);
    if (owner !== undefined) {
      throw new ConflictError(
        "spec.nftables.table",
        `programs ${owner} and ${name} both claim nftables table ${spec.table}`,
      );
    }
    owners.set(spec.table, name);
    tables.push({
      program: name,
      family: declared[0].family as NftFamily,
      name: spec.table,
      ruleset: spec.ruleset,
      rulesetHash: createHash("sha256").update(spec.ruleset).digest("hex"),
      lines: listingLines(spec.ruleset),
    });
  }
  return { tables };
}

/**
 * Where a table differs from its ruleset. `expected` gives the lines the kernel
 * should print for it (the reconciler passes what it learned after applying).
 * Set elements never count: they are runtime state.
 */
export function diffTable(
  table: DesiredTable,
  actual: NftActual,
  expected: readonly string[],
): ProgramDrift | undefined {
  const found = actual.tables.find((t) => tableKey(t) === tableKey(table));
  if (!found) {
    return { program: table.program, path: "spec.nftables.table", expected: tableKey(table), actual: null };
  }
  if (sameLines(found.lines, expected)) return undefined;
  const missing = multisetMinus(expected, found.lines);
  const extra = multisetMinus(found.lines, expected);
  return {
    program: table.program,
    path: "spec.nftables.ruleset",
    // Same lines in another order (a rule moved) still shows what the kernel holds.
    expected: missing.length || extra.length ? missing : expected,
    actual: missing.length || extra.length ? extra : found.lines,
  };
}

/** fos1 tables that no program declares: left over from a deleted program or an earlier agent. */
export function unownedTables(desired: NftDesired, actual: NftActual): NftTableRef[] {
  const owned = new Set(desired.tables.map(tableKey));
  return actual.tables.filter((t) => !owned.has(tableKey(t))).map(({ family, name }) => ({ family, name }));
}

export interface TableRewrite extends NftTableRef {
  readonly ruleset: string;
  /** Elements to put back, as script text, by set name. */
  readonly elements: ReadonlyMap<string, readonly string[]>;
}

/** Elements per `add element` statement: keeps lines short without multiplying statements. */
const ELEMENTS_PER_STATEMENT = 512;

/**
 * One script for the whole change, run as one transaction. A rewritten table
 * is added (so the delete cannot fail on a missing table), deleted and
 * declared afresh, then its kept elements are added back, so no packet ever
 * sees the table half-built or a block missing.
 */
export function nftScript(rewrites: readonly TableRewrite[], deletions: readonly NftTableRef[]): string {
  const lines: string[] = [];
  for (const t of rewrites) {
    lines.push(`add table ${t.family} ${t.name}`, `delete table ${t.family} ${t.name}`, t.ruleset.trimEnd());
    for (const [set, elements] of t.elements) {
      for (let i = 0; i < elements.length; i += ELEMENTS_PER_STATEMENT) {
        const chunk = elements.slice(i, i + ELEMENTS_PER_STATEMENT).join(", ");
        lines.push(`add element ${t.family} ${t.name} ${set} { ${chunk} }`);
      }
    }
  }
  for (const t of deletions) lines.push(`delete table ${t.family} ${t.name}`);
  return lines.join("\n") + "\n";
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of b) counts.set(l, (counts.get(l) ?? 0) + 1);
  return a.filter((l) => {
    const n = counts.get(l) ?? 0;
    if (n > 0) counts.set(l, n - 1);
    return n === 0;
  });
}
