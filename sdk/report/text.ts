/** A plain-text table for terminals: upper-case headers, columns padded to their widest cell. */
export function renderTable(rows: readonly object[], columns: readonly string[]): string {
  const cells = rows.map((r) => columns.map((c) => String((r as Record<string, unknown>)[c] ?? "")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join("  ")
      .trimEnd() + "\n";
  return line(columns.map((c) => c.toUpperCase())) + cells.map(line).join("");
}
