import { NFT_FAMILIES, type NftFamily, type NftTableRef } from "../kernel/nft";

/**
 * The tables a ruleset declares, read without nft: a program's ruleset is
 * loaded into the node's one shared ruleset, so it may hold table blocks and
 * `define`s and nothing else at the top level (no `flush ruleset`, no
 * `delete table`, no `include` of files on the node). Braces inside quoted
 * strings and comments do not count.
 */
export function rulesetTables(ruleset: string): NftTableRef[] {
  const tables: NftTableRef[] = [];
  let depth = 0;
  let statement = "";
  let line = 1;
  const endStatement = () => {
    const text = statement.trim();
    statement = "";
    if (depth === 0 && text !== "" && !/^define\s+\$?[A-Za-z_][A-Za-z0-9_]*\s*=/.test(text)) {
      throw new Error(
        `line ${line}: only table blocks and defines may stand at the top level, found "${text}"`,
      );
    }
  };
  for (let i = 0; i < ruleset.length; i++) {
    const c = ruleset[i];
    if (c === '"') {
      const end = ruleset.indexOf('"', i + 1);
      if (end < 0) throw new Error(`line ${line}: unterminated string`);
      if (depth === 0) statement += ruleset.slice(i, end + 1);
      i = end;
    } else if (c === "#") {
      const end = ruleset.indexOf("\n", i);
      i = (end < 0 ? ruleset.length : end) - 1;
    } else if (c === "{") {
      if (depth === 0) {
        const header = /^table\s+(\S+)\s+(\S+)$/.exec(statement.trim());
        const family = header?.[1] as NftFamily | undefined;
        if (!header || !NFT_FAMILIES.includes(family!)) {
          throw new Error(
            `line ${line}: a top-level block must be "table <family> <name> {", found "${statement.trim()}"`,
          );
        }
        tables.push({ family: family!, name: header[2] });
        statement = "";
      }
      depth++;
    } else if (c === "}") {
      if (depth === 0) throw new Error(`line ${line}: unbalanced "}"`);
      depth--;
    } else if (c === "\n" || c === ";") {
      if (depth === 0) endStatement();
      if (c === "\n") line++;
    } else if (depth === 0) {
      statement += c;
    }
  }
  if (depth !== 0) throw new Error(`line ${line}: unbalanced "{"`);
  endStatement();
  return tables;
}

/** A listing as lines without indentation or blank lines: how nft prints a table and how a program writes it compare equal. */
export function listingLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/**
 * Each set's declaration (type, flags, timeout, size...) by set name, one
 * statement per entry whether written on lines or with `;`, without its
 * elements. Elements are kept across a re-created table only where this is
 * unchanged, so they still fit.
 */
export function setDeclarations(lines: readonly string[]): Map<string, string> {
  const text = lines.join("\n");
  const sets = new Map<string, string>();
  for (const open of text.matchAll(/(?:^|\n)set\s+(\S+)\s*\{/g)) {
    let depth = 1;
    let body = "";
    for (let i = open.index + open[0].length; i < text.length && depth > 0; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}") depth--;
      // Only the set's own statements: nested braces hold elements.
      if (depth === 1 && text[i] !== "}") body += text[i];
    }
    const statements = body
      .split(/[;\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== "" && !s.startsWith("elements"));
    sets.set(open[1], statements.join("; "));
  }
  return sets;
}
