#!/usr/bin/env node
import { lab } from "./commands/lab";
import { EXIT, processIo, UsageError } from "./io";
import { run } from "./run";

/** `lab` drives a whole local site (root, minutes); every other command goes through run(). */
async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] !== "lab") return run(argv, processIo);
  try {
    return await lab(processIo, argv.slice(1));
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      processIo.err(`fos1-dpi: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(
      `fos1-dpi: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 70;
  },
);
