#!/usr/bin/env node
import { parseArgs } from "node:util";
import { runAgent } from "./agent";
import { DEFAULT_CONFIG_FILE } from "./config";

// The agent image's entry point; `fos1-dpi agent` reaches the same runAgent.
const { values } = parseArgs({ options: { config: { type: "string" } } });
runAgent({ configFile: values.config ?? DEFAULT_CONFIG_FILE }).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`fos1-dpi-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
