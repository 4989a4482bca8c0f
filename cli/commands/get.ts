import type { ProgramState } from "../../sdk/agent-api";
import { EXIT, type Io } from "../io";
import {
  compileForAgent,
  connectAgent,
  reportAgentError,
  reportProblems,
  type AgentCommandOptions,
} from "./apply";

export const getUsage =
  "fos1-dpi get --agent URL [--site SITE_FILE [--node NODE] FILE...] [--token-file FILE] [--ca FILE] [--json]";

type Verdict = "in-sync" | "drifted" | "changed" | "missing" | "error";

/**
 * Without files: lists the agent's programs. With files: compiles them for the
 * agent's node and compares each program with what the agent holds and with
 * the kernel (drift). Exits 1 unless every program is applied and in sync.
 */
export async function get(
  io: Io,
  files: readonly string[],
  options: AgentCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const client = connectAgent(io, options, env, getUsage);
  if (files.length === 0 && !options.site) {
    io.err(`GET programs <- ${options.agent}\n`);
    try {
      const list = await client.listPrograms();
      if (options.json) io.out(JSON.stringify({ ok: true, ...list }) + "\n");
      else
        for (const p of list.programs)
          io.out(`${p.name}\t${p.hash.slice(0, 12)}\t${p.source.kind}/${p.source.name}\n`);
      return EXIT.ok;
    } catch (error) {
      const failure = reportAgentError(io, "programs", error);
      if (options.json) io.out(JSON.stringify({ ok: false, ...failure }) + "\n");
      return EXIT.rejected;
    }
  }
  const compiled = compileForAgent(io, files, options, getUsage);
  if (compiled.problems.length > 0) return reportProblems(io, compiled.problems, options.json);

  const results: { name: string; verdict: Verdict; state?: ProgramState; error?: string }[] = [];
  for (const program of compiled.programs) {
    const name = program.metadata.name;
    io.err(`GET ${name} <- ${compiled.node} (${options.agent})\n`);
    try {
      const state = await client.getProgram(name);
      const verdict: Verdict = !state
        ? "missing"
        : state.program.hash !== program.hash
          ? "changed"
          : state.drift.length > 0
            ? "drifted"
            : "in-sync";
      results.push({ name, verdict, ...(state ? { state } : {}) });
      if (!options.json) {
        io.out(`${name}: ${describe(verdict, state)}\n`);
        for (const d of state?.drift ?? []) {
          io.out(`  ${d.path}: expected ${JSON.stringify(d.expected)}, actual ${JSON.stringify(d.actual)}\n`);
        }
      }
    } catch (error) {
      results.push({ name, verdict: "error", error: reportAgentError(io, name, error).error });
    }
  }
  const ok = results.every((r) => r.verdict === "in-sync");
  if (options.json) io.out(JSON.stringify({ ok, node: compiled.node, agent: options.agent, results }) + "\n");
  return ok ? EXIT.ok : EXIT.rejected;
}

function describe(verdict: Verdict, state: ProgramState | undefined): string {
  switch (verdict) {
    case "missing":
      return "not applied on the agent";
    case "changed":
      return `the agent holds another version (${state!.program.hash.slice(0, 12)}); apply to update`;
    case "drifted":
      return `applied ${state!.appliedAt}, kernel drifted in ${state!.drift.length} place(s)`;
    default:
      return `in sync (applied ${state!.appliedAt})`;
  }
}
