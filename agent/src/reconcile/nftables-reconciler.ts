import type { NodeProgram } from "../../../sdk/compile/node-program";
import type { CommandRunner } from "../kernel/command";
import { listTables, nftTransaction, renderElement, tableListing, tableSets } from "../kernel/nft";
import {
  FOS1_TABLE_PREFIX,
  desiredNftables,
  diffTable,
  nftScript,
  tableKey,
  unownedTables,
  type ActualTable,
  type DesiredTable,
  type NftActual,
  type NftDesired,
  type TableRewrite,
} from "./nftables-plan";
import { listingLines, setDeclarations } from "./nftables-ruleset";
import type { ProgramDrift, Reconciler } from "./reconciler";

/**
 * Programs' nftables tables. A change is one `nft -f -` transaction that
 * re-creates each changed table and deletes unowned `fos1_*` tables; the
 * elements of the re-created tables' sets (blocks the agent added at run
 * time) are read first and added back in the same transaction with the time
 * they have left. A table is compared with its ruleset as nft lists it; where
 * nft prints a ruleset differently from how it was written, the listing read
 * back after applying it is remembered, so the next apply writes nothing.
 */
export class NftablesReconciler implements Reconciler<NftDesired, NftActual> {
  readonly subsystem = "nftables" as const;
  /** Ruleset hash -> the kernel's listing of it, learned after applying it. */
  private readonly learned = new Map<string, readonly string[]>();

  constructor(private readonly runner: CommandRunner) {}

  desired(programs: readonly NodeProgram[]): NftDesired {
    return desiredNftables(programs);
  }

  async read(): Promise<NftActual> {
    const refs = (await listTables(this.runner)).filter((t) => t.name.startsWith(FOS1_TABLE_PREFIX));
    const tables: ActualTable[] = await Promise.all(
      refs.map(async (ref) => ({ ...ref, lines: listingLines(await tableListing(this.runner, ref)) })),
    );
    return { tables };
  }

  diff(desired: NftDesired, actual: NftActual): ProgramDrift[] {
    return desired.tables.flatMap((t) => diffTable(t, actual, this.expectedLines(t)) ?? []);
  }

  async apply(desired: NftDesired, read?: NftActual): Promise<number> {
    const actual = read ?? (await this.read());
    const changed = desired.tables.filter((t) => diffTable(t, actual, this.expectedLines(t)));
    const unowned = unownedTables(desired, actual);
    if (changed.length === 0 && unowned.length === 0) return 0;

    const rewrites: TableRewrite[] = [];
    for (const table of changed) {
      const before = actual.tables.find((t) => tableKey(t) === tableKey(table));
      rewrites.push({
        family: table.family,
        name: table.name,
        ruleset: table.ruleset,
        elements: before ? await this.keptElements(before, table) : new Map(),
      });
    }
    await nftTransaction(this.runner, nftScript(rewrites, unowned));
    for (const table of changed) {
      this.learned.set(table.rulesetHash, listingLines(await tableListing(this.runner, table)));
    }
    this.forgetExcept(desired);
    return 1;
  }

  private expectedLines(table: DesiredTable): readonly string[] {
    return this.learned.get(table.rulesetHash) ?? table.lines;
  }

  /** The elements of every set whose declaration the new ruleset keeps as it was. */
  private async keptElements(before: ActualTable, table: DesiredTable): Promise<Map<string, string[]>> {
    const oldSets = setDeclarations(before.lines);
    const newSets = setDeclarations(this.expectedLines(table));
    const kept = new Map<string, string[]>();
    for (const set of await tableSets(this.runner, before)) {
      const declaration = oldSets.get(set.name);
      if (!set.elem?.length || declaration === undefined || newSets.get(set.name) !== declaration) continue;
      kept.set(set.name, set.elem.map(renderElement));
    }
    return kept;
  }

  private forgetExcept(desired: NftDesired): void {
    const current = new Set(desired.tables.map((t) => t.rulesetHash));
    for (const hash of this.learned.keys()) if (!current.has(hash)) this.learned.delete(hash);
  }
}
