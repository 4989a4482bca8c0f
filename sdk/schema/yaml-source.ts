import { isNode, LineCounter, parseAllDocuments, type Document } from "yaml";
import { validateDocument, type Fos1Document } from "./documents";
import { type Problem } from "./problem";

/** A validated document and where it came from. */
export interface SourcedDocument {
  readonly document: Fos1Document;
  readonly file: string;
  /** 0-based position among the file's documents. */
  readonly index: number;
  /** Line and column (1-based) of the value at a document path, or of its nearest existing ancestor. */
  readonly locate: (path: string) => { line: number; column: number };
}

export interface LoadResult {
  readonly documents: SourcedDocument[];
  readonly problems: Problem[];
}

/**
 * Parses and validates every document of a multi-document YAML text. Problems
 * carry the file, line and column of the offending value (or of the nearest
 * enclosing one that exists, for a missing field).
 */
export function loadYamlDocuments(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents: SourcedDocument[] = [];
  const problems: Problem[] = [];
  const docs = Array.isArray(parsed) ? parsed : [];
  docs.forEach((doc, index) => {
    const where = (offset: number) => {
      const pos = lineCounter.linePos(offset);
      return { file, line: pos.line, column: pos.col };
    };
    const locate = (path: string) => {
      const { line, column } = where(offsetOf(doc, path));
      return { line, column };
    };
    if (doc.errors.length > 0) {
      for (const error of doc.errors)
        problems.push({ path: "", message: `YAML: ${firstLine(error.message)}`, ...where(error.pos[0]) });
      return;
    }
    if (doc.contents === null) return;
    const result = validateDocument(doc.toJS({ maxAliasCount: 100 }));
    if (result.ok) documents.push({ document: result.value, file, index, locate });
    else
      for (const problem of result.problems)
        problems.push({ ...problem, ...where(offsetOf(doc, problem.path)) });
  });
  return { documents, problems };
}

function firstLine(message: string): string {
  return message.split("\n")[0];
}

/** Source offset of the value at `path` (`spec.classes[0].name`), or of its nearest existing ancestor. */
function offsetOf(doc: Document, path: string): number {
  const segments = path.match(/[^.[\]]+/g) ?? [];
  const keys = segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = keys.length; n >= 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return doc.contents?.range?.[0] ?? 0;
}
