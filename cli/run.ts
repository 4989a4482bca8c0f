import { parseArgs } from "node:util";
import { agent, agentUsage } from "./commands/agent";
import { apply, applyUsage } from "./commands/apply";
import { compile, compileUsage } from "./commands/compile";
import { deleteCommand, deleteUsage } from "./commands/delete";
import { get, getUsage } from "./commands/get";
import { labUsage } from "./commands/lab";
import { simulate, simulateUsage } from "./commands/simulate";
import { validate, validateUsage } from "./commands/validate";
import { EXIT, UsageError, type Io } from "./io";

const usage = [
  "usage:",
  `  ${validateUsage}`,
  `  ${compileUsage}`,
  `  ${simulateUsage}`,
  `  ${applyUsage}`,
  `  ${getUsage}`,
  `  ${deleteUsage}`,
  `  ${agentUsage}`,
  `  ${labUsage}`,
].join("\n");

/** Options of the commands that talk to an agent (apply, get, delete). */
const agentOptions = {
  json: { type: "boolean" },
  site: { type: "string" },
  node: { type: "string" },
  agent: { type: "string" },
  "token-file": { type: "string" },
  ca: { type: "string" },
  name: { type: "string", multiple: true },
} as const;

function parseAgentArgs(args: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: agentOptions,
  });
  const options = {
    site: values.site,
    node: values.node,
    agent: values.agent,
    tokenFile: values["token-file"],
    ca: values.ca,
    json: values.json ?? false,
  };
  return { options, positionals, names: values.name ?? [] };
}

/** apply and get take no --name: they act on what the files compile to. */
function withoutNames(parsed: ReturnType<typeof parseAgentArgs>, command: string) {
  if (parsed.names.length > 0) throw new UsageError(`--name is an option of delete, not of ${command}`);
  return parsed;
}

/** Runs one `fos1-dpi` command line; returns the exit status. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "validate": {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: { json: { type: "boolean" } },
        });
        return validate(io, positionals, values.json ?? false);
      }
      case "compile": {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: { json: { type: "boolean" }, site: { type: "string" }, node: { type: "string" } },
        });
        return compile(io, positionals, { site: values.site, node: values.node, json: values.json ?? false });
      }
      case "simulate": {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: {
            json: { type: "boolean" },
            site: { type: "string" },
            node: { type: "string" },
            pcap: { type: "string", multiple: true },
            against: { type: "string", multiple: true },
            html: { type: "string" },
          },
        });
        return await simulate(io, positionals, {
          site: values.site,
          node: values.node,
          pcaps: values.pcap ?? [],
          against: values.against ?? [],
          json: values.json ?? false,
          html: values.html,
        });
      }
      case "apply": {
        const { options, positionals } = withoutNames(parseAgentArgs(rest), "apply");
        return await apply(io, positionals, options);
      }
      case "get": {
        const { options, positionals } = withoutNames(parseAgentArgs(rest), "get");
        return await get(io, positionals, options);
      }
      case "delete": {
        const { options, positionals, names } = parseAgentArgs(rest);
        return await deleteCommand(io, positionals, { ...options, names });
      }
      case "agent": {
        const { values } = parseArgs({ args: [...rest], options: { config: { type: "string" } } });
        return await agent(io, { config: values.config });
      }
      case undefined:
      case "help":
      case "--help":
        io.out(usage + "\n");
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`unknown command "${command}"\n${usage}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`fos1-dpi: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}
