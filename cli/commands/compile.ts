import { compileSite, isPolicyDocument, prettyJson } from "../../sdk/compile";
import { formatProblem, type Problem, type Site, type SourcedDocument } from "../../sdk/schema";
import { EXIT, UsageError, type Io } from "../io";
import { loadFiles } from "../load";

export const compileUsage = "fos1-dpi compile --site SITE_FILE [--node NODE] [--json] FILE...";

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

/** Prints the NodePrograms the policies compile to on every node of the site (or one node). */
export function compile(
  io: Io,
  files: readonly string[],
  options: { site?: string; node?: string; json: boolean },
): number {
  if (!options.site) throw new UsageError(`--site is required\nusage: ${compileUsage}`);
  if (files.length === 0) throw new UsageError(`no policy files given\nusage: ${compileUsage}`);
  const site = loadSite(io, options.site);
  const loaded = loadFiles(io, files);
  const problems = [...site.problems, ...loaded.problems];
  if (site.site && options.node && !site.site.spec.nodes.some((n) => n.name === options.node)) {
    problems.push({ file: options.site, path: "spec.nodes", message: `no node named "${options.node}"` });
  }
  const policies = loaded.documents.filter((d) => isPolicyDocument(d.document));
  if (problems.length === 0 && site.site) {
    const result = compileSite(
      policies.map((d) => d.document as Parameters<typeof compileSite>[0][number]),
      site.site,
    );
    problems.push(
      ...result.problems.map(({ document, ...p }) => ({
        ...p,
        file: policies[document].file,
        ...policies[document].locate(p.path),
      })),
    );
    if (problems.length === 0) {
      const programs = result.programs.filter((p) => !options.node || p.metadata.node === options.node);
      io.out(options.json ? JSON.stringify(programs) + "\n" : prettyJson(programs));
      return EXIT.ok;
    }
  }
  if (options.json) io.out(JSON.stringify({ ok: false, problems }) + "\n");
  else for (const p of problems) io.err(formatProblem(p) + "\n");
  return EXIT.rejected;
}
