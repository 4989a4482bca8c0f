import { loadYamlDocuments, type Problem, type SourcedDocument } from "../sdk/schema";
import type { Io } from "./io";

/** Reads and validates every document of every file; unreadable files are problems too. */
export function loadFiles(
  io: Io,
  files: readonly string[],
): { documents: SourcedDocument[]; problems: Problem[] } {
  const documents: SourcedDocument[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = io.readFile(file);
    } catch (error) {
      problems.push({
        file,
        path: "",
        message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      });
      continue;
    }
    const result = loadYamlDocuments(text, file);
    documents.push(...result.documents);
    problems.push(...result.problems);
  }
  return { documents, problems };
}
