import { formatProblem, type Problem } from "../../sdk/schema";
import { EXIT, type Io } from "../io";

export const agentUsage = "fos1-dpi agent [--config FILE]";

/** The agent package's entry point as this command uses it. */
export interface AgentPackage {
  runAgent(options: { readonly configFile: string }): Promise<number>;
  readonly DEFAULT_CONFIG_FILE: string;
}

const AGENT_PACKAGE = "@fos1/dpi-agent";

/**
 * Loads the agent package only when this command runs: a Pulumi program that
 * installs `@fos1/dpi` alone never loads (or needs) the agent's code.
 */
export function loadAgentPackage(): AgentPackage {
  let loaded: Partial<AgentPackage>;
  try {
    loaded = require(AGENT_PACKAGE) as Partial<AgentPackage>;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === "MODULE_NOT_FOUND" && e.message.includes(AGENT_PACKAGE)) {
      throw new Error(`the node agent is not installed: npm install ${AGENT_PACKAGE} (and build it)`);
    }
    throw error;
  }
  if (typeof loaded.runAgent !== "function" || typeof loaded.DEFAULT_CONFIG_FILE !== "string") {
    throw new Error(`${AGENT_PACKAGE} does not export runAgent; is it the version matching this CLI?`);
  }
  return loaded as AgentPackage;
}

/** Runs the node agent until it is stopped; a bad config is reported as `file: path: reason` lines. */
export async function agent(
  io: Io,
  options: { readonly config?: string },
  load: () => AgentPackage = loadAgentPackage,
): Promise<number> {
  let pkg: AgentPackage;
  try {
    pkg = load();
  } catch (error) {
    io.err(`fos1-dpi agent: ${(error as Error).message}\n`);
    return EXIT.rejected;
  }
  try {
    return await pkg.runAgent({ configFile: options.config ?? pkg.DEFAULT_CONFIG_FILE });
  } catch (error) {
    // The agent package carries its own copy of the sdk, so its errors are recognised by shape.
    const problems = (error as { problems?: Problem[] }).problems;
    if (Array.isArray(problems)) {
      for (const p of problems) io.err(formatProblem(p) + "\n");
      return EXIT.rejected;
    }
    throw error;
  }
}
