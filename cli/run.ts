import { parseArgs } from "node:util";
import { compile, compileUsage } from "./commands/compile";
import { simulate, simulateUsage } from "./commands/simulate";
import { validate, validateUsage } from "./commands/validate";
import { EXIT, UsageError, type Io } from "./io";

const usage = ["usage:", `  ${validateUsage}`, `  ${compileUsage}`, `  ${simulateUsage}`].join("\n");

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
