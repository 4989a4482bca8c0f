#!/usr/bin/env node
import { runController } from "./main";

// The controller Deployment's entry point (the agent image, `node .../controller/bin.js`).
runController(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`fos1-dpi-controller: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
