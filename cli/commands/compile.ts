import { prettyJson } from "../../sdk/compile";
import { formatProblem } from "../../sdk/schema";
import { EXIT, UsageError, type Io } from "../io";
import { compileFiles } from "../compile-files";

export const compileUsage = "fos1-dpi compile --site SITE_FILE [--node NODE] [--json] FILE...";

/** Prints the NodePrograms the policies compile to on every node of the site (or one node). */
export function compile(
  io: Io,
  files: readonly string[],
  options: { site?: string; node?: string; json: boolean },
): number {
  if (!options.site) throw new UsageError(`--site is required\nusage: ${compileUsage}`);
  if (files.length === 0) throw new UsageError(`no policy files given\nusage: ${compileUsage}`);
  const { site, programs, problems } = compileFiles(io, options.site, files);
  if (
    site &&
    problems.length === 0 &&
    options.node &&
    !site.spec.nodes.some((n) => n.name === options.node)
  ) {
    problems.push({ file: options.site, path: "spec.nodes", message: `no node named "${options.node}"` });
  }
  if (problems.length === 0) {
    const selected = programs.filter((p) => !options.node || p.metadata.node === options.node);
    io.out(options.json ? JSON.stringify(selected) + "\n" : prettyJson(selected));
    return EXIT.ok;
  }
  if (options.json) io.out(JSON.stringify({ ok: false, problems }) + "\n");
  else for (const p of problems) io.err(formatProblem(p) + "\n");
  return EXIT.rejected;
}
