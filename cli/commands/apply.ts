import { AgentClient, AgentError, type ApplyResult } from "../../sdk/agent-api";
import type { NodeProgram } from "../../sdk/compile";
import { formatProblem, type Problem } from "../../sdk/schema";
import { EXIT, UsageError, type Io } from "../io";
import { compileFiles } from "../compile-files";

export const applyUsage =
  "fos1-dpi apply --site SITE_FILE --agent URL [--node NODE] [--token-file FILE] [--ca FILE] [--json] FILE...";

/** Options every agent command shares. */
export interface AgentCommandOptions {
  readonly site?: string;
  readonly agent?: string;
  readonly node?: string;
  readonly tokenFile?: string;
  readonly ca?: string;
  readonly json: boolean;
}

/** The environment variable holding the agent token when `--token-file` is not given. */
export const TOKEN_ENV = "FOS1_AGENT_TOKEN";

/** A client of the agent at `--agent`, with the token from `--token-file` or the environment and the CA from `--ca`. */
export function connectAgent(
  io: Io,
  options: AgentCommandOptions,
  env: NodeJS.ProcessEnv,
  usage: string,
): AgentClient {
  if (!options.agent) throw new UsageError(`--agent is required\nusage: ${usage}`);
  if (!/^https:\/\//.test(options.agent)) {
    throw new UsageError(`--agent must be an https URL (the token must not travel in clear text)`);
  }
  const token = options.tokenFile ? io.readFile(options.tokenFile).trim() : env[TOKEN_ENV];
  if (!token) throw new UsageError(`no agent token: give --token-file FILE or set ${TOKEN_ENV}`);
  return new AgentClient({
    url: options.agent,
    token,
    ...(options.ca ? { ca: io.readFile(options.ca) } : {}),
  });
}

/**
 * Compiles the policy files for the node the agent serves (the site node whose
 * `agent.url` is `--agent`, or `--node`), with the compilers `compile` uses.
 */
export function compileForAgent(
  io: Io,
  files: readonly string[],
  options: AgentCommandOptions,
  usage: string,
): { node?: string; programs: NodeProgram[]; problems: Problem[] } {
  if (!options.site) throw new UsageError(`--site is required\nusage: ${usage}`);
  if (files.length === 0) throw new UsageError(`no policy files given\nusage: ${usage}`);
  const { site, programs, problems } = compileFiles(io, options.site, files);
  if (!site || problems.length > 0) return { programs: [], problems };
  const nodes = site.spec.nodes;
  const node = options.node
    ? nodes.find((n) => n.name === options.node)
    : nodes.find((n) => sameEndpoint(n.agent.url, options.agent ?? ""));
  if (!node) {
    const message = options.node
      ? `no node named "${options.node}"`
      : `no node has agent.url ${options.agent}; give --node (nodes: ${nodes.map((n) => `${n.name} ${n.agent.url}`).join(", ")})`;
    return { programs: [], problems: [{ file: options.site, path: "spec.nodes", message }] };
  }
  return { node: node.name, programs: programs.filter((p) => p.metadata.node === node.name), problems };
}

function sameEndpoint(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** `maps=0 nftables=1 tc=0 ip=0` */
export function formatWrites(result: ApplyResult): string {
  return Object.entries(result.writes)
    .map(([subsystem, n]) => `${subsystem}=${n}`)
    .join(" ");
}

/** Prints a failed call's reason and the agent's problems, each as `program: path: reason`. */
export function reportAgentError(
  io: Io,
  program: string,
  error: unknown,
): { error: string; problems: Problem[] } {
  if (error instanceof AgentError) {
    io.err(`${program}: ${error.message.split("\n")[0]}\n`);
    for (const p of error.problems) io.err(`${program}: ${formatProblem(p)}\n`);
    return { error: error.message.split("\n")[0], problems: [...error.problems] };
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`${program}: ${message}\n`);
  return { error: message, problems: [] };
}

/** Prints compile problems like `compile` does; the exit status for them. */
export function reportProblems(io: Io, problems: readonly Problem[], json: boolean): number {
  if (json) io.out(JSON.stringify({ ok: false, problems }) + "\n");
  else for (const p of problems) io.err(formatProblem(p) + "\n");
  return EXIT.rejected;
}

/** Compiles the policies for the agent's node and PUTs every program; each is applied atomically by the agent. */
export async function apply(
  io: Io,
  files: readonly string[],
  options: AgentCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const client = connectAgent(io, options, env, applyUsage);
  const compiled = compileForAgent(io, files, options, applyUsage);
  if (compiled.problems.length > 0) return reportProblems(io, compiled.problems, options.json);

  const results = [];
  for (const program of compiled.programs) {
    const name = program.metadata.name;
    io.err(`PUT ${name} -> ${compiled.node} (${options.agent})\n`);
    try {
      const result = await client.putProgram(program);
      results.push({ name, ok: true, result });
      if (!options.json) {
        io.out(
          `${name}: applied ${result.hash.slice(0, 12)} (${formatWrites(result)}) in ${Math.round(result.durationMs)} ms\n`,
        );
      }
    } catch (error) {
      results.push({ name, ok: false, ...reportAgentError(io, name, error) });
    }
  }
  const ok = results.every((r) => r.ok);
  if (options.json) io.out(JSON.stringify({ ok, node: compiled.node, agent: options.agent, results }) + "\n");
  return ok ? EXIT.ok : EXIT.rejected;
}
