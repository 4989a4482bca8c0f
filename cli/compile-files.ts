import { compileSite, isPolicyDocument, type NodeProgram, type PolicyDocument } from "../sdk/compile";
import type { Problem, Site, SourcedDocument } from "../sdk/schema";
import type { Io } from "./io";
import { loadFiles } from "./load";

/** The site document of a `--site` file: exactly one Site. */
export function loadSite(io: Io, siteFile: string): { site?: Site; problems: Problem[] } {
  const { documents, problems } = loadFiles(io, [siteFile]);
  const sites = documents.filter(
    (d): d is SourcedDocument & { document: Site } => d.document.kind === "Site",
  );
  if (problems.length === 0 && sites.length !== 1) {
    problems.push({
      file: siteFile,
      path: "",
      message: `expected exactly one Site document, found ${sites.length}`,
    });
  }
  return { site: sites[0]?.document, problems };
}

export interface CompiledFiles {
  readonly site?: Site;
  /** Every node's programs; empty when there are problems. */
  readonly programs: NodeProgram[];
  /** Problems with their file, line and column. */
  readonly problems: Problem[];
}

/**
 * Loads the site and the policy files and compiles them for every node of the
 * site: what compile, simulate and the agent commands share, so they cannot
 * disagree about what a set of files means.
 */
export function compileFiles(io: Io, siteFile: string, files: readonly string[]): CompiledFiles {
  const site = loadSite(io, siteFile);
  const loaded = loadFiles(io, files);
  const problems = [...site.problems, ...loaded.problems];
  if (!site.site || problems.length > 0) return { site: site.site, programs: [], problems };
  const policies = loaded.documents.filter((d) => isPolicyDocument(d.document));
  const result = compileSite(
    policies.map((d) => d.document as PolicyDocument),
    site.site,
  );
  problems.push(
    ...result.problems.map(({ document, ...p }) => ({
      ...p,
      file: policies[document].file,
      ...policies[document].locate(p.path),
    })),
  );
  return { site: site.site, programs: result.programs, problems };
}
