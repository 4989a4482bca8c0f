import { EXIT, UsageError, type Io } from "../io";
import {
  compileForAgent,
  connectAgent,
  formatWrites,
  reportAgentError,
  reportProblems,
  type AgentCommandOptions,
} from "./apply";

export const deleteUsage =
  "fos1-dpi delete --agent URL (--site SITE_FILE [--node NODE] FILE... | --name PROGRAM...) [--token-file FILE] [--ca FILE] [--json]";

/**
 * Deletes programs from the agent: those the policy files compile to for its
 * node, or those named with `--name` (for a policy whose file is gone). The
 * agent removes exactly what each program owned.
 */
export async function deleteCommand(
  io: Io,
  files: readonly string[],
  options: AgentCommandOptions & { readonly names: readonly string[] },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const client = connectAgent(io, options, env, deleteUsage);
  if (options.names.length > 0 && files.length > 0) {
    throw new UsageError(`give policy files or --name, not both\nusage: ${deleteUsage}`);
  }
  let names = [...options.names];
  let node: string | undefined;
  if (names.length === 0) {
    const compiled = compileForAgent(io, files, options, deleteUsage);
    if (compiled.problems.length > 0) return reportProblems(io, compiled.problems, options.json);
    names = compiled.programs.map((p) => p.metadata.name);
    node = compiled.node;
  }
  const results = [];
  for (const name of names) {
    io.err(`DELETE ${name} -> ${node ?? options.agent}\n`);
    try {
      const result = await client.deleteProgram(name);
      results.push({ name, ok: true, deleted: result !== undefined, ...(result ? { result } : {}) });
      if (!options.json)
        io.out(`${name}: ${result ? `deleted (${formatWrites(result)})` : "not on the agent"}\n`);
    } catch (error) {
      results.push({ name, ok: false, ...reportAgentError(io, name, error) });
    }
  }
  const ok = results.every((r) => r.ok);
  if (options.json) io.out(JSON.stringify({ ok, agent: options.agent, results }) + "\n");
  return ok ? EXIT.ok : EXIT.rejected;
}
