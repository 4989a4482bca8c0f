import { formatProblem } from "../../sdk/schema";
import { EXIT, UsageError, type Io } from "../io";
import { loadFiles } from "../load";

export const validateUsage = "fos1-dpi validate [--json] FILE...";

/** Validates policy, sensor and site documents; every problem of every file is reported. */
export function validate(io: Io, files: readonly string[], json: boolean): number {
  if (files.length === 0) throw new UsageError(`no files given\nusage: ${validateUsage}`);
  const { documents, problems } = loadFiles(io, files);
  const summary = documents.map((d) => ({
    file: d.file,
    index: d.index,
    kind: d.document.kind,
    name: d.document.metadata.name,
  }));
  if (json) {
    io.out(JSON.stringify({ ok: problems.length === 0, documents: summary, problems }) + "\n");
  } else {
    for (const d of summary) io.out(`${d.file}: ${d.kind}/${d.name} valid\n`);
    for (const p of problems) io.err(formatProblem(p) + "\n");
  }
  return problems.length === 0 ? EXIT.ok : EXIT.rejected;
}
